"""One CPU's state at a stop, and when that state must be asked for again.

GDB sees the general registers, CR0-CR4 and EFER through QEMU's gdbstub; the
hidden parts (each segment register's cache: base, limit, attributes; GDTR,
IDTR, TR, LDTR) only QEMU's monitor shows (`info registers`, ~0.3 ms). A
CpuState holds both; `cs_cache_may_change` says, for one executed
instruction, whether the monitor must be asked again or the previous CS cache
still holds: that is what lets a debugger follow the mode at every single
step without asking the monitor each time, and still never miss a switch.
"""
import operator

from . import addressing, modes
from .sdm import EFLAGS_VM

SEGMENTS = ("CS", "SS", "DS", "ES", "FS", "GS", "LDT", "TR")
# Registers whose change may change the mode or CS's cache (a CS load always
# changes the selector's value or goes through a far transfer, see below).
MODE_REGS = ("cr0", "cr4", "efer", "cs")
# rsp moves of the near transfers whose target is not in the instruction: a
# return pops an IP (plus an imm16 for `ret N`), a call pushes one, a jump
# leaves the stack alone. An exception pushes 3 to 6 words instead.
STACK_WORDS = (2, 4, 8)
# What else QEMU's monitor shows that one instruction can change: the other
# segment registers (their caches), FS/GS bases; and the instructions that
# load segment or descriptor-table registers, or halt (the monitor's segment
# lines, GDT=/IDT=, HLT=).
MONITOR_REGS = ("ss", "ds", "es", "fs", "gs", "fs_base", "gs_base")
MONITOR_KINDS = ("table", "sreg", "hlt")


class Segment:
    """A segment register as the CPU holds it: selector plus hidden cache.
    flags is the descriptor's high doubleword (SDM Figure 3-8)."""

    def __init__(self, name, selector, base, limit, flags):
        self.name, self.selector, self.base, self.limit, self.flags = \
            name, selector, base, limit, flags

    def __eq__(self, other):
        return isinstance(other, Segment) and vars(self) == vars(other)

    def __repr__(self):
        return "Segment(%r, %#x, %#x, %#x, %#x)" % (self.name, self.selector, self.base,
                                                    self.limit, self.flags)


class CpuState:
    """regs: {name: int} as GDB reads them (rip, eflags, cs, cr0, efer...);
    segs: {"CS": Segment, ...}; tables: {"GDT": (base, limit), "IDT": ...}."""

    def __init__(self, regs, segs, tables=None):
        self.regs, self.segs, self.tables = regs, segs, tables or {}
        self._mode = None

    @property
    def cs(self):
        return self.segs["CS"]

    @property
    def mode(self):
        """Decided once: a state is one moment's registers, never changed."""
        if self._mode is None:
            r = self.regs
            self._mode = modes.decide(r["cr0"], r["cr4"], r["efer"], r["eflags"], self.cs.flags)
        return self._mode

    def successor(self, regs):
        """The state after an instruction for which monitor_view_may_change
        said no: the same segment caches and tables, so the same mode (every
        input of modes.decide is in mode_key or CS's cache), new registers."""
        st = CpuState(regs, self.segs, self.tables)
        st._mode = self._mode
        return st

    def why(self):
        r = self.regs
        return modes.why(r["cr0"], r["cr4"], r["efer"], r["eflags"], self.cs.flags)

    @property
    def ip(self):
        return self.regs["rip"] & addressing.ip_mask(self.mode.bits)

    @property
    def pc_linear(self):
        """CS.base + IP: where the CPU fetches its next instruction."""
        return addressing.linear(self.cs.base, self.regs["rip"], self.mode.bits)

    def format_pc(self):
        m = self.mode
        return addressing.format_pc(self.cs.selector, self.cs.base, self.regs["rip"], m.bits,
                                    m.cpu in (modes.REAL, modes.V86))


# Tuples of those registers' values, read at C speed: these rules run at
# every single step of bl next-mode and make trace.
_mode_regs = operator.itemgetter(*MODE_REGS)
_monitor_regs = operator.itemgetter(*MONITOR_REGS)


def mode_key(regs):
    return _mode_regs(regs) + (regs["eflags"] & EFLAGS_VM,)


def cs_cache_may_change(before, insn, after):
    """After exactly one instruction `insn` (decode.Insn, or None when
    unknown) took the registers from `before` to `after` ({name: int}), may
    CS's hidden cache, or the mode, differ from before? True unless it is
    certain they cannot: no far transfer, interrupt, fault, control-register
    or MSR write; no change of CR0, CR4, EFER, CS or EFLAGS.VM; and the CPU is
    where that instruction alone takes it (an exception delivered instead
    would have put it at a handler, with a frame pushed)."""
    if insn is None or insn.may_reload_cs() or mode_key(before) != mode_key(after):
        return True
    mask = addressing.ip_mask(insn.bits)
    new_ip = after["rip"] & mask
    successors = insn.successors()
    if successors is not None:
        return new_ip not in successors
    # A return, or a jump or call through a register or memory: the target is
    # data, so check that the stack moved as that instruction moves it.
    delta = ((after["rsp"] - before["rsp"]) + (1 << 63)) % (1 << 64) - (1 << 63)
    group = insn.cs.group
    from .decode import X86
    if group(X86.X86_GRP_RET):
        popped = {w for w in STACK_WORDS}
        ops = insn.cs.operands
        extra = ops[0].imm if ops else 0
        return delta - extra not in popped
    if group(X86.X86_GRP_CALL):
        return -delta not in STACK_WORDS
    return delta != 0


def monitor_view_may_change(before, insn, after):
    """After exactly one instruction `insn` (or None), may anything QEMU's
    monitor shows beyond the gdbstub's registers (segment caches, GDTR,
    IDTR, the halt state, the mode) differ from before? When not, a
    debugger keeps the monitor's previous answer instead of asking again."""
    return (insn is None or insn.kind in MONITOR_KINDS
            or _monitor_regs(before) != _monitor_regs(after)
            or cs_cache_may_change(before, insn, after))
