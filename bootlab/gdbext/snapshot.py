"""One snapshot of the selected CPU per stop, invalidated in one place.

Everything the commands, the stop display, the disassembler and the TUI
know of the CPU comes from here: GDB's registers of the selected thread, and
what only QEMU's monitor shows (segment caches, GDTR, IDTR), parsed by the
core (bootlab.qemu.monitor) into a CpuState (bootlab.x86.cpu).

The monitor costs a round trip (~0.3 ms) and describes the monitor's current
CPU, not GDB's selected thread, so with several CPUs it is told which one
first (`monitor cpu N`). After a single step it is not asked at all when
the core says nothing it shows can have changed (x86.cpu.cs_cache_may_change
on the instruction that ran); every other stop asks again. invalidate() runs
on every GDB event that can change the state (stop, continue, register or
memory writes, a new connection) and after bootlab's own raw steps.
"""
import gdb

from ..qemu import monitor as qemu_monitor
from ..x86 import cpu as x86cpu
from ..x86 import decode
from ..x86.sdm import X86_MAX_INSN
from . import target

REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
        "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "efer")

_snapshots = {}          # CPU index -> Snapshot of this stop
_known = {}              # CPU index -> (regs, Registers) last seen with the monitor's view
_monitor_cpu = [0]       # the CPU QEMU's monitor describes now
_step = {"resumes": 0, "single": False, "before": None}
_decoded = {}            # CPU index -> (key, Insn) of the instruction at this stop's CS:IP
monitor_reads = [0]      # how often the monitor was asked (make bench, tests)


class Snapshot:
    def __init__(self, cpu):
        self.cpu = cpu
        self._regs = None
        self._monitor = None
        self._state = None

    @property
    def regs(self):
        if self._regs is None:
            self._regs = target.read_regs(REGS)
        return self._regs

    @property
    def monitor(self):
        """The parsed `info registers` of this CPU at this stop."""
        if self._monitor is None:
            self._monitor = _carried(self) or _ask_monitor(self.cpu)
            _known[self.cpu] = (self.regs, self._monitor)
        return self._monitor

    @property
    def state(self):
        if self._state is None:
            mon = self.monitor
            self._state = x86cpu.CpuState(self.regs, mon.segs, mon.tables)
        return self._state

    @property
    def mode(self):
        return self.state.mode


def _ask_monitor(cpu):
    if target.cpu_count() > 1 or cpu != _monitor_cpu[0]:
        # With several CPUs the user may have said `monitor cpu N` too.
        target.monitor("cpu %d" % cpu)
        _monitor_cpu[0] = cpu
    monitor_reads[0] += 1
    try:
        return qemu_monitor.parse(target.monitor("info registers"))
    except qemu_monitor.MonitorError as e:
        raise gdb.GdbError("bootlab: %s" % e)


def _carried(snap):
    """The previous stop's monitor view, when one instruction ran since and
    it cannot have changed what the monitor shows; else None."""
    before = _step["before"]
    if not (_step["single"] and _step["resumes"] == 1 and before and before[0] == snap.cpu):
        return None
    _, regs_before, insn = before
    known = _known.get(snap.cpu)
    if known is None or known[0] is not regs_before:
        return None
    if x86cpu.monitor_view_may_change(regs_before, insn, snap.regs):
        return None
    return known[1]


def current():
    """The Snapshot of GDB's selected thread (needs a live target)."""
    cpu = target.thread_cpu()
    snap = _snapshots.get(cpu)
    if snap is None:
        snap = _snapshots[cpu] = Snapshot(cpu)
    return snap


def invalidate(*_):
    _snapshots.clear()
    _decoded.clear()


def forget(*_):
    """A new connection or the end of one: nothing carries over."""
    _snapshots.clear()
    _known.clear()
    _monitor_cpu[0] = 0
    _step.update(resumes=0, single=False, before=None)


def on_resume(*_):
    _step["resumes"] += 1
    _snapshots.clear()      # the decoded instruction stays: it is what runs now


def on_stop(*_):
    invalidate()


def after_stop_handled(*_):
    """The next stop's bookkeeping starts from zero."""
    _step.update(resumes=0, single=False, before=None)


def note_single_step():
    """Called just before GDB single-steps the selected CPU (hook-stepi,
    hook-nexti): remember the instruction about to run, so the stop after
    it can reuse the monitor's view when nothing it shows can change."""
    _step.update(resumes=0, single=True, before=None)
    try:
        snap = current()
        st = snap.state
        insn = instruction_at(st, snap.cpu)
        _step["before"] = (snap.cpu, snap.regs, insn)
    except (gdb.error, gdb.GdbError):
        _step["before"] = None


def remember_decoded(cpu, state, insn):
    """The context display decoded the instruction about to run: keep it, so
    a stepi from here need not read and decode it again."""
    _decoded[cpu] = (_code_key(state), insn)


def _code_key(state):
    return (state.pc_linear, state.mode.bits, state.cs.base, state.cs.selector)


def instruction_at(state, cpu=None):
    """The decoded instruction at the CPU's CS:IP, or None."""
    known = _decoded.get(cpu)
    if known and known[0] == _code_key(state):
        return known[1]
    m = state.mode
    inf = gdb.selected_inferior()
    try:
        data = decode.read_code(lambda a, n: inf.read_memory(a, n), state.pc_linear, X86_MAX_INSN)
    except gdb.MemoryError:
        return None
    insns = decode.decode(data, state.pc_linear, m.bits, state.cs.selector, state.cs.base)
    return insns[0] if insns else None


def after_raw_step(snap_before, insn, regs_after):
    """bootlab's own raw steps (rawstep.py) bypass GDB: carry the monitor's
    view over when nothing it shows can change, else drop it."""
    invalidate()
    cpu = snap_before.cpu
    snap = _snapshots[cpu] = Snapshot(cpu)
    snap._regs = regs_after
    if not x86cpu.monitor_view_may_change(snap_before.regs, insn, regs_after):
        snap._monitor = snap_before.monitor
        snap._state = snap_before.state.successor(regs_after)
        _known[cpu] = (regs_after, snap._monitor)
    return snap
