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
from ..x86.sdm import (LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF, LAPIC_LVT_LINT0,
                       LAPIC_LVT_LINT1, LAPIC_LVT_ERROR, LAPIC_SVR, LAPIC_ICR_LOW, LAPIC_ICR_HIGH,
                       LAPIC_ESR, LAPIC_TIMER_DIVIDE, LAPIC_TIMER_INITIAL, LAPIC_TIMER_CURRENT,
                       LAPIC_ISR, LAPIC_IRR, LAPIC_REG_STRIDE, LAPIC_APR, LAPIC_TPR, LAPIC_DFR,
                       LAPIC_LDR, LAPIC_PPR)

SEG_LINE = re.compile(r"^(ES|CS|SS|DS|FS|GS|LDT|TR)\s*=([0-9a-f]{4}) ([0-9a-f]+) "
                      r"([0-9a-f]+) ([0-9a-f]+)", re.M)
TABLE_LINE = re.compile(r"^(GDT|IDT)=\s*([0-9a-f]+) ([0-9a-f]+)", re.M)
VALUE = re.compile(r"\b(CR[0234]|EFER|CPL|A20|HLT|SMM|II|[RE]IP|[RE]FL|[RE][A-D]X|[RE][SD]I|"
                   r"[RE][SB]P|R\d+)\s*=\s*([0-9a-f]+)\b")
FPU_START = "\nFCW="
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
        # The values sit above the FPU and vector registers (FCW= onwards):
        # no need to scan those lines, two thirds of the text.
        fpu = text.find(FPU_START)
        head = text if fpu < 0 else text[:fpu]
        self.values = {m.group(1): int(m.group(2), 16) for m in VALUE.finditer(head)}
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


def shutdown_note(status_text):
    """Why the guest stopped answering, from `info status`, when QEMU's
    machine shut down, else None: with -no-reboot a reset request (a triple
    fault makes one) shuts it down, and -no-shutdown keeps it paused for
    inspection (configs/qemu.args)."""
    state = status(status_text)
    if "shutdown" not in state:
        return None
    return ("the machine shut down (QEMU: %s): the CPU asked for a reset, as a triple "
            "fault does; lab/qemu-log.sh shows the exceptions" % state)


# ---- `info lapic` (QEMU 7.2, target/i386/cpu-dump.c) ---------------------------
# One line per LVT entry, then Timer, SPIV, ICR, ICR2, ESR, ISR, IRR, and a
# last line "APR 0x.. TPR 0x.. DFR 0x.. LDR 0x.. PPR 0x..". QEMU prints its
# own fields, not the registers' bytes: DFR is the 4-bit model (register bits
# 31:28), LDR the 8-bit logical ID (bits 31:24); ISR and IRR list vectors in
# decimal. It prints neither the APIC ID, the version, TMR nor the CMCI LVT.
LAPIC_HEAD = re.compile(r"^dumping local APIC state for CPU (\d+)", re.M)
LVT_OFFSETS = {"LVTT": LAPIC_LVT_TIMER, "LVTTHMR": LAPIC_LVT_THERMAL, "LVTPC": LAPIC_LVT_PERF,
             "LVT0": LAPIC_LVT_LINT0, "LVT1": LAPIC_LVT_LINT1, "LVTERR": LAPIC_LVT_ERROR}
LAPIC_WORD = re.compile(r"^(LVTT|LVTTHMR|LVTPC|LVT0|LVT1|LVTERR|SPIV|ICR2?|ESR)\s+0x([0-9a-f]+)",
                        re.M)
LAPIC_TIMER = re.compile(r"^Timer\s+DCR=0x([0-9a-f]+).*initial_count = (\d+) "
                         r"current_count = (\d+)", re.M)
LAPIC_VECS = re.compile(r"^(ISR|IRR)\s+(.*)$", re.M)
LAPIC_LAST = re.compile(r"\b(APR|TPR|DFR|LDR|PPR) 0x([0-9a-f]+)")


def parse_lapic(text):
    """(CPU index, {register offset (SDM Table 10-1): value}) from `info
    lapic`; MonitorError when the text is not that."""
    head = LAPIC_HEAD.search(text)
    if not head:
        raise MonitorError("cannot parse `monitor info lapic`: %s"
                           % (text.strip().splitlines() or ["(nothing)"])[0])
    regs = {}
    for name, value in LAPIC_WORD.findall(text):
        value = int(value, 16)
        offset = LVT_OFFSETS.get(name) or {"SPIV": LAPIC_SVR, "ICR": LAPIC_ICR_LOW,
                                         "ICR2": LAPIC_ICR_HIGH, "ESR": LAPIC_ESR}[name]
        regs[offset] = value
    m = LAPIC_TIMER.search(text)
    if m:
        regs[LAPIC_TIMER_DIVIDE] = int(m.group(1), 16)
        regs[LAPIC_TIMER_INITIAL], regs[LAPIC_TIMER_CURRENT] = int(m.group(2)), int(m.group(3))
    for name, rest in LAPIC_VECS.findall(text):
        base = LAPIC_ISR if name == "ISR" else LAPIC_IRR
        words = [0] * 8
        for vec in re.findall(r"\b(\d+)\b", rest if "(none)" not in rest else ""):
            if int(vec) < 256:
                words[int(vec) // 32] |= 1 << (int(vec) % 32)
        for i, w in enumerate(words):
            regs[base + i * LAPIC_REG_STRIDE] = w
    for name, value in LAPIC_LAST.findall(text):
        value = int(value, 16)
        if name == "DFR":
            value = (value << 28) | 0x0fffffff      # the model in 31:28, the rest all ones
        elif name == "LDR":
            value <<= 24
        regs[{"APR": LAPIC_APR, "TPR": LAPIC_TPR, "DFR": LAPIC_DFR, "LDR": LAPIC_LDR,
              "PPR": LAPIC_PPR}[name]] = value
    return int(head.group(1)), regs
