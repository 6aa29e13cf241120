"""Parsers of QEMU's monitor output (QEMU 7.2), plain functions over text.

`info registers` prints one CPU (the monitor's current one, `cpu N` picks
it); `info registers -a` prints all, each after a "CPU#N" line. Outside long
mode the general registers are printed 32 bits wide (EAX=, EIP=, EFL=), in
long mode 64 bits (RAX=, RIP=, RFL=); the segment lines always read
    CS =0008 0000000000000000 ffffffff 00cf9b00 DPL=0 CS32 [-RA]
         sel  base             limit    flags (descriptor high doubleword)
with GDT= and IDT= giving base and limit, then CR0-CR4, EFER and the rest.
"""
import re

from ..x86.cpu import SEGMENTS, Segment

SEG_LINE = re.compile(r"^(ES|CS|SS|DS|FS|GS|LDT|TR)\s*=([0-9a-f]{4}) ([0-9a-f]+) "
                      r"([0-9a-f]+) ([0-9a-f]+)", re.M)
TABLE_LINE = re.compile(r"^(GDT|IDT)=\s*([0-9a-f]+) ([0-9a-f]+)", re.M)
VALUE = re.compile(r"\b(CR[0234]|EFER|CPL|A20|HLT|SMM|II|[RE]IP|[RE]FL|[RE][A-D]X|[RE][SD]I|"
                   r"[RE][SB]P|R\d+)\s*=\s*([0-9a-f]+)\b")
CPU_LINE = re.compile(r"^CPU#(\d+)\s*$", re.M)
# Monitor names -> GDB's register names (QEMU's x86-64 target description).
GDB_NAMES = {"RIP": "rip", "EIP": "rip", "RFL": "eflags", "EFL": "eflags", "CR0": "cr0",
             "CR2": "cr2", "CR3": "cr3", "CR4": "cr4", "EFER": "efer"}


class MonitorError(ValueError):
    pass


class Registers:
    """One CPU's `info registers`: segs {"CS": Segment...}, tables
    {"GDT": (base, limit), "IDT": ...}, values {"CR0": int, "HLT": int...}."""

    def __init__(self, text, cpu=None):
        self.text, self.cpu = text, cpu
        self.segs = {}
        for m in SEG_LINE.finditer(text):
            self.segs[m.group(1)] = Segment(m.group(1), *(int(g, 16) for g in m.groups()[1:]))
        self.tables = {m.group(1): (int(m.group(2), 16), int(m.group(3), 16))
                       for m in TABLE_LINE.finditer(text)}
        self.values = {m.group(1): int(m.group(2), 16) for m in VALUE.finditer(text)}
        if "CS" not in self.segs or "CR0" not in self.values:
            raise MonitorError("cannot parse `monitor info registers` (is this QEMU's gdbstub?)")

    @property
    def halted(self):
        return bool(self.values.get("HLT"))

    def regs(self):
        """The registers GDB also has, under GDB's names (for comparing)."""
        out = {gdb: self.values[mon] for mon, gdb in GDB_NAMES.items() if mon in self.values}
        out["cs"] = self.segs["CS"].selector
        return out


def parse(text):
    return Registers(text)


def parse_all(text):
    """`info registers -a` -> [Registers] in CPU order."""
    marks = list(CPU_LINE.finditer(text))
    if not marks:
        return [Registers(text, 0)]
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append(Registers(text[m.end():end], int(m.group(1))))
    return out


def status(text):
    """`info status` -> 'running', 'paused (debug)', 'paused (shutdown)', ..."""
    m = re.search(r"VM status: (.+)", text)
    return m.group(1).strip() if m else text.strip()
