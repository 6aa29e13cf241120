"""Control registers decoded bit by bit, and the general registers at the
width the current mode uses.

GDB reads CR0, CR2, CR3, CR4 and EFER straight from QEMU's register set
(they are part of QEMU's x86-64 target description).
"""
import gdb

from . import mode, state
from .command import BlCommand, hexw
from .sdm import (CR0_BITS, CR4_BITS, EFER_BITS, CR3_PWT, CR3_PCD, CR4_PCIDE,
                  CR4_PAE, CR3_PCID_MASK, CR3_PAE_PDPT_MASK, CR0_PG, EFER_LMA)

BIT_TABLES = {"cr0": CR0_BITS, "cr4": CR4_BITS, "efer": EFER_BITS}
CONTROL_REGS = ("cr0", "cr2", "cr3", "cr4", "efer")


def set_bits(value, table):
    """Names of the set bits, most significant first, e.g. 'PG ET PE'."""
    return " ".join(name for name, bit, _ in reversed(table) if value & bit)


def bit_changes(old, new, table):
    """'+PE -PG' for the named bits that differ between two values."""
    out = []
    for name, bit, _ in table:
        if (old ^ new) & bit:
            out.append(("+" if new & bit else "-") + name)
    return " ".join(out)


def describe_cr3(cr3, cr0, cr4):
    if not cr0 & CR0_PG:
        return "paging off: CR3 not used"
    if cr4 & CR4_PCIDE:
        return "top table 0x%x PCID %d" % (cr3 & ~CR3_PCID_MASK, cr3 & CR3_PCID_MASK)
    if cr4 & CR4_PAE and not state.reg("efer") & EFER_LMA:
        return "PDPT 0x%x" % (cr3 & CR3_PAE_PDPT_MASK)
    return "top table 0x%x PWT=%d PCD=%d" % (cr3 & ~0xfff, bool(cr3 & CR3_PWT),
                                              bool(cr3 & CR3_PCD))


def line(name, value):
    """One summary line, e.g. 'CR0  0x80000011  PG ET PE'."""
    if name in BIT_TABLES:
        desc = "[ %s ]" % set_bits(value, BIT_TABLES[name])
    elif name == "cr2":
        desc = "last page-fault linear address"
    else:
        desc = describe_cr3(value, state.reg("cr0"), state.reg("cr4"))
    return "%-4s %s  %s" % (name.upper(), hexw(value, 64 if value >> 32 else 32), desc)


class CrCommand(BlCommand):
    """Show CR0, CR2, CR3, CR4 and EFER decoded bit by bit.
Usage: bl cr [cr0|cr2|cr3|cr4|efer]
Without an argument: CR0, CR2, CR3, CR4 and EFER with their set bits named as
in the Intel SDM. With a register name: every defined bit of it, one a line,
with its value and meaning (SDM Vol. 3A 2.5, 2.2.1)."""
    NAME = "cr"

    def run(self, argv):
        if len(argv) > 1:
            self.usage("at most one register")
        if not argv:
            for name in CONTROL_REGS:
                print(line(name, state.reg(name)))
            return
        name = argv[0].lower().lstrip("$")
        if name not in CONTROL_REGS:
            self.usage("unknown register %r" % argv[0])
        value = state.reg(name)
        print(line(name, value))
        for bit_name, bit, meaning in BIT_TABLES.get(name, ()):
            print("  bit %2d  %-10s %d  %s" % (bit.bit_length() - 1, bit_name,
                                              bool(value & bit), meaning))


GPRS = ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp")


class RegsCommand(BlCommand):
    """Show the general registers at the width of the current mode.
Usage: bl regs
General registers at the width of the current mode: AX..SP and IP in 16-bit
code, EAX..ESP and EIP in 32-bit code, RAX..R15 and RIP in 64-bit mode, with
the segment registers and EFLAGS. In real mode IP is also shown as CS:IP and
its linear address."""
    NAME = "regs"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        m = mode.current()
        prefix = {16: "", 32: "e", 64: "r"}[m.bits]
        names = [prefix + r for r in GPRS]
        if m.bits == 64:
            names += ["r%d" % i for i in range(8, 16)]
        width = m.bits // 4
        cells = ["%-3s %0*x" % (n, width, state.reg(n) & ((1 << m.bits) - 1)) for n in names]
        per_line = 4
        for i in range(0, len(cells), per_line):
            print("   ".join(cells[i:i + per_line]))
        print("%-3s %0*x   eflags %s" % (prefix + "ip", width,
                                         state.reg("pc") & ((1 << m.bits) - 1),
                                         gdb.newest_frame().read_register("eflags")))
        print("   ".join("%s %04x" % (s, state.reg(s)) for s in ("cs", "ds", "es", "fs", "gs", "ss")))
        print("mode %s; next instruction at %s" % (m.name, mode.format_pc(m)))
