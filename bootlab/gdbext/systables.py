"""`bl tss`, `bl ldt`, `bl msr` and `bl apic`: the system structures beside
the GDT and IDT, of the selected CPU, decoded by the core (bootlab.x86.tss,
.descriptors, .msr, .apic).

TR and LDTR, like the segment registers, hold a hidden base and limit that
only QEMU's monitor shows (`info registers`: the TR= and LDT= lines); the
bases are linear addresses, read with ordinary memory reads (as tables.py
reads the GDT). MSRs come from the four QEMU's gdbstub has as registers;
the APIC from its page in physical memory, or, where QEMU answers a
debugger's reads of that page with zeros (it does: its APIC serves only a
CPU's own accesses), from the monitor's `info lapic`.
"""
import gdb

from ..qemu import monitor as qemu_monitor
from ..x86 import apic, descriptors, msr, tss
from ..x86.controlregs import BIT_TABLES, set_bits
from ..x86.sdm import GDT_MAX_ENTRIES, DESC_SIZE, PAGE_SIZE
from . import phys, snapshot, target
from .command import BlCommand
from .tables import read_linear

# A TSS with the largest I/O bitmap: base up to 0xffff, 8 KiB of bitmap, one
# byte more (SDM 19.5.2). Nothing the CPU reads lies past it.
TSS_READ_MAX = 0x10000 + 0x2000 + 1


def _segment(st, name):
    seg = st.segs.get(name)
    if seg is None:
        raise gdb.GdbError("bootlab: QEMU's monitor showed no %s line" % name)
    return seg


class TssCommand(BlCommand):
    """Decode the task-state segment TR points at.
Usage: bl tss
The TSS of TR's hidden base and limit (from QEMU's monitor): in IA-32e mode
the 64-bit TSS's RSP0-2 (the stacks of a privilege change), IST1-7 (the
stacks of IDT gates with an IST index) and the I/O map base; outside it the
32-bit TSS's fields (SS0:ESP0..., CR3, EIP, EFLAGS, registers, selectors,
LDT, T) or the 16-bit TSS's words. The I/O bitmap, when the limit holds
one, is summed up as the ports it allows."""
    NAME = "tss"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        st = snapshot.current().state
        tr = _segment(st, "TR")
        m = st.mode
        if m.cpu == "real":
            print("real mode: no TSS is used (TR %04x base 0x%x limit 0x%x)"
                  % (tr.selector, tr.base, tr.limit))
            return
        if tss.tr_not_loaded(tr.selector, tr.base, tr.limit, tr.flags):
            print("TR still holds its reset value (selector 0, base 0, limit 0xffff): no LTR "
                  "has run, so an interrupt that changes privilege, or one through an IST "
                  "gate, would fault")
            return
        try:
            which, busy = tss.kind(tr.flags, m.long)
        except tss.NoTss as e:
            raise gdb.GdbError("bl tss: %s" % e)
        data = read_linear(tr.base, min(tr.limit + 1, TSS_READ_MAX))
        print("TR %04x -> %s%s at 0x%x, limit 0x%x" % (tr.selector, which,
                                                      " (busy)" if busy else "", tr.base,
                                                      tr.limit))
        try:
            rows = tss.fields(data, which, tr.limit)
        except tss.NoTss as e:
            raise gdb.GdbError("bl tss: %s" % e)
        for name, value, note in rows:
            print("  %-12s %-20s %s" % (name, tss.format_value(which, name, value), note))


class LdtCommand(BlCommand):
    """Decode the local descriptor table LDTR points at.
Usage: bl ldt
The LDT of LDTR's hidden base and limit (from QEMU's monitor), decoded like
bl gdt, with the selector of each entry (index, TI=1). A null LDTR means no
LDT: every selector with TI=1 then faults."""
    NAME = "ldt"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        st = snapshot.current().state
        ldtr = _segment(st, "LDT")
        if st.mode.cpu == "real":
            print("real mode: no descriptor tables are used")
            return
        print("LDTR %04x base 0x%x limit 0x%x" % (ldtr.selector, ldtr.base, ldtr.limit))
        if descriptors.ldtr_empty(ldtr.selector, ldtr.flags):
            print("(no LDT: LDTR is null, so a selector with TI=1 raises #GP)")
            return
        if ldtr.limit < DESC_SIZE - 1:
            print("(empty LDT)")
            return
        data = read_linear(ldtr.base, min(ldtr.limit + 1, GDT_MAX_ENTRIES * DESC_SIZE))
        for off, raw, text in descriptors.gdt_entries(data, st.mode.long, null_first=False):
            print("0x%04x  sel 0x%04x  %016x  %s" % (off, descriptors.ldt_selector(off),
                                                     int.from_bytes(raw[:8], "little"), text))


def msr_value(m):
    return target.reg(m.register)


class MsrCommand(BlCommand):
    """Show the model-specific registers QEMU lets a debugger read.
Usage: bl msr [NAME|NUMBER]
Without an argument: every MSR bootlab knows, with its value where QEMU's
gdbstub has it as a register (IA32_EFER, IA32_FS_BASE, IA32_GS_BASE,
IA32_KERNEL_GS_BASE) and, for the others, why it cannot be read here: the
gdbstub has no RDMSR and the monitor prints none of them. NAME is an SDM
name with or without IA32_ (efer, lstar, apic_base); NUMBER e.g. 0xc0000080."""
    NAME = "msr"

    def run(self, argv):
        if len(argv) > 1:
            self.usage("at most one MSR")
        if argv:
            try:
                m = msr.lookup(argv[0])
            except msr.UnknownMsr as e:
                raise gdb.GdbError("bl msr: %s" % e.args[0])
            self.show(m, full=True)
            return
        for m in msr.MSRS:
            self.show(m)
        print("(unavailable: %s; see help bl msr)" % msr.NO_STUB)

    def show(self, m, full=False):
        if m.available:
            value = msr_value(m)
            extra = ""
            if m.register == "efer":
                extra = "  [ %s ]" % set_bits(value, BIT_TABLES["efer"])
            print("0x%08x %-24s 0x%016x%s" % (m.number, m.name, value, extra))
        elif full:
            print("0x%08x %-24s unavailable: %s" % (m.number, m.name, m.why))
        else:
            print("0x%08x %-24s unavailable" % (m.number, m.name))


class ApicCommand(BlCommand):
    """Show the local APIC's registers of the selected CPU.
Usage: bl apic
The registers of SDM Vol. 3A Table 10-1 (ID, version, TPR, SVR, the LVT
entries, ICR, the timer...), each decoded. They are read from the APIC's
page in physical memory. The base would come from IA32_APIC_BASE, which
QEMU does not let a debugger read, so it is the reset value 0xfee00000.
QEMU 7.2 answers a debugger's reads of that page with zeros (its APIC serves
only a CPU's own accesses); then the values come from `monitor info lapic`,
which shows neither the ID, the version, TMR nor the CMCI entry."""
    NAME = "apic"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        snap = snapshot.current()
        base = apic.DEFAULT_BASE
        print("local APIC of CPU %d: base 0x%x (IA32_APIC_BASE after reset: QEMU does not "
              "let a debugger read the MSR), xAPIC mode assumed (QEMU 7.2's TCG has no "
              "x2APIC)" % (snap.cpu, base))
        regs = apic.registers_from_page(phys.read(base, PAGE_SIZE))
        if apic.page_is_blank(regs):
            # The monitor's current CPU is the snapshot's (snapshot.py selects it).
            text = target.monitor("info lapic")
            try:
                _, regs = qemu_monitor.parse_lapic(text)
            except qemu_monitor.MonitorError as e:
                raise gdb.GdbError("bl apic: the APIC page reads as zeros and %s" % e)
            print("(its page reads as zeros through the debugger, as QEMU answers only a "
                  "CPU's own accesses: values from `monitor info lapic`)")
        for off, name, value, text in apic.lines(regs):
            if value is not None:
                print("  0x%03x %-14s 0x%08x  %s" % (off, name, value, text))
            elif text:                      # ISR, TMR, IRR: the vectors set
                print("  0x%03x %-14s %s" % (off, name, text))
            else:
                print("  0x%03x %-14s (not shown by QEMU)" % (off, name))
