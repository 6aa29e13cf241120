"""`bl cr` (control registers decoded bit by bit) and `bl regs` (the general
registers at the width of the current mode), of the selected CPU."""
import gdb

from ..x86.controlregs import BIT_TABLES, CONTROL_REGS, summary_line
from . import snapshot
from .command import BlCommand

GPRS = ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp")


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
        regs = snapshot.current().regs
        if not argv:
            for name in CONTROL_REGS:
                print(summary_line(name, regs))
            return
        name = argv[0].lower().lstrip("$")
        if name not in CONTROL_REGS:
            self.usage("unknown register %r" % argv[0])
        print(summary_line(name, regs))
        for bit_name, bit, meaning in BIT_TABLES.get(name, ()):
            print("  bit %2d  %-10s %d  %s" % (bit.bit_length() - 1, bit_name,
                                              bool(regs[name] & bit), meaning))


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
        snap = snapshot.current()
        st, regs = snap.state, snap.regs
        m = st.mode
        prefix = {16: "", 32: "e", 64: "r"}[m.bits]
        names = ["r" + r for r in GPRS] + (["r%d" % i for i in range(8, 16)] if m.bits == 64 else [])
        width, mask = m.bits // 4, (1 << m.bits) - 1
        cells = ["%-3s %0*x" % (prefix + n[1:] if n[1:] in GPRS else n, width, regs[n] & mask)
                 for n in names]
        for i in range(0, len(cells), 4):
            print("   ".join(cells[i:i + 4]))
        print("%-3s %0*x   eflags %s" % (prefix + "ip", width, regs["rip"] & mask,
                                         gdb.newest_frame().read_register("eflags")))
        print("   ".join("%s %04x" % (s, regs[s]) for s in ("cs", "ds", "es", "fs", "gs", "ss")))
        print("mode %s; next instruction at %s" % (m.name, st.format_pc()))
