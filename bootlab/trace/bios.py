# bios.py: one line about a BIOS call, from the registers around it (host
# side of `make trace`).
#
# The services and their numbers are bootlab.h's (BIOS_*), read through
# bootlab.project, so the trace names a call the way the boot code does. The
# interfaces: Ralf Brown's Interrupt List (INT 10h, INT 13h AH=00h/41h, INT
# 15h AX=2401h), the BIOS Enhanced Disk Drive spec (AH=42h and its disk
# address packet), the ACPI spec's "System Address Map Interfaces" (E820h).
import re
import struct

from .. import project
from ..x86.sdm import EFLAGS_CF
NAMES = ("BIOS_VIDEO_INT", "BIOS_TELETYPE", "BIOS_SYSTEM_INT", "BIOS_A20_ENABLE",
         "BIOS_E820", "BIOS_DISK_INT", "BIOS_DISK_RESET", "BIOS_EXT_CHECK",
         "BIOS_EXT_READ")


def constants():
    """{name: value} of NAMES, from include/bootlab.h."""
    return {n: project.const(n) for n in NAMES}


def e820_types():
    """{value: name} of bootinfo.h's enum e820_type (E820_RAM = 1, ...)."""
    text = (project.ROOT / "include/bootinfo.h").read_text()
    return {int(v): n for n, v in re.findall(r"^\s*(E820_\w+)\s*=\s*(\d+)", text, re.M)}


def _hexbytes(text, fmt):
    if not text:
        return None
    data = bytes.fromhex(text)
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, data[:size]) if len(data) >= size else None


class Describer:
    def __init__(self, const=None, types=None):
        self.c = const or constants()
        self.types = types or e820_types()

    def service(self, call):
        """'INT 13h AH=42h extended read: ...' for a `bios` record."""
        c, v, r = self.c, call["vector"], call["before"]
        ax, ah = r["rax"] & 0xffff, (r["rax"] >> 8) & 0xff
        where = "INT %02Xh" % v
        if v == c["BIOS_DISK_INT"]:
            if ah == c["BIOS_EXT_CHECK"]:
                return "%s AH=%02Xh: are the disk extensions there? (BX=%04Xh)" % (
                    where, ah, r["rbx"] & 0xffff)
            if ah == c["BIOS_EXT_READ"]:
                dap = _hexbytes(call.get("ds_si"), "<BBHHHQ")
                what = "%s AH=%02Xh extended read" % (where, ah)
                if dap:
                    _, _, count, off, seg, lba = dap
                    what += ": %d sectors from LBA %d to %04x:%04x (linear 0x%x)" % (
                        count, lba, seg, off, (seg << 4) + off)
                return what
            if ah == c["BIOS_DISK_RESET"]:
                return "%s AH=%02Xh reset the disk" % (where, ah)
            return "%s AH=%02Xh disk service" % (where, ah)
        if v == c["BIOS_SYSTEM_INT"]:
            if r["rax"] & 0xffffffff == c["BIOS_E820"]:
                return "%s EAX=%Xh memory map, continuation EBX=%d" % (
                    where, c["BIOS_E820"], r["rbx"] & 0xffffffff)
            if ax == c["BIOS_A20_ENABLE"]:
                return "%s AX=%04Xh enable the A20 gate" % (where, ax)
            return "%s AX=%04Xh system service" % (where, ax)
        if v == c["BIOS_VIDEO_INT"]:
            if ah == c["BIOS_TELETYPE"]:
                return "%s AH=%02Xh teletype %r" % (where, ah, chr(r["rax"] & 0xff))
            return "%s AH=%02Xh video service" % (where, ah)
        return "%s AX=%04Xh" % (where, ax)

    def result(self, call):
        """What came back: CF, and the answer where the boot code uses one."""
        c, v, r, a = self.c, call["vector"], call["before"], call["after"]
        if a["eflags"] & EFLAGS_CF:
            return "failed: CF=1, AH=%02Xh" % ((a["rax"] >> 8) & 0xff)
        if v == c["BIOS_DISK_INT"] and (r["rax"] >> 8) & 0xff == c["BIOS_EXT_CHECK"]:
            return "yes: BX=%04Xh CX=%04Xh" % (a["rbx"] & 0xffff, a["rcx"] & 0xffff)
        if v == c["BIOS_SYSTEM_INT"] and r["rax"] & 0xffffffff == c["BIOS_E820"]:
            entry = _hexbytes(call.get("es_di"), "<QQI")
            if entry:
                base, length, kind = entry
                return "0x%x-0x%x %s, next EBX=%d" % (
                    base, base + length - 1, self.types.get(kind, "type %d" % kind),
                    a["rbx"] & 0xffffffff)
        return "ok (CF=0)"
