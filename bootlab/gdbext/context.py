"""The context display printed at every stop (`set bootlab context on|off`):
mode, CS:IP with its linear address, the next instructions decoded in the
current mode, and the control registers that changed since the last stop.

It costs one register read and one memory read; the monitor is asked only
when the snapshot has to (see snapshot.py). `bl context` prints it on
demand and how long it took.
"""
import time

import gdb

from ..x86 import addressing, decode
from ..x86.controlregs import CONTROL_REGS, changes
from ..x86.sdm import X86_MAX_INSN
from . import snapshot, target
from .command import BlCommand, BlParameter

CONTEXT_LINES_MAX = 64
_last_regs = {}     # CPU index -> control registers at the previous stop
last_ms = [0.0]


class ContextParam(BlParameter):
    """Show the bootlab context (mode, CS:IP, next instructions, changed
control registers) each time the target stops."""
    NAME = "context"
    instance = None

    def __init__(self):
        super().__init__(gdb.PARAM_BOOLEAN)
        self.value = True
        ContextParam.instance = self


class ContextLines(BlParameter):
    """How many instructions the bootlab context shows (0..64)."""
    NAME = "context-lines"
    instance = None

    def __init__(self):
        super().__init__(gdb.PARAM_ZUINTEGER)
        self.value = 4
        ContextLines.instance = self

    def get_set_string(self):
        if self.value > CONTEXT_LINES_MAX:
            self.value = CONTEXT_LINES_MAX
            return "bootlab context-lines is at most %d; set to %d." % (CONTEXT_LINES_MAX,
                                                                        CONTEXT_LINES_MAX)
        return ""


def _code(st):
    n = ContextLines.instance.value if ContextLines.instance else 4
    if not n:
        return []
    lin = st.pc_linear
    inf = gdb.selected_inferior()
    try:
        data = bytes(inf.read_memory(lin, X86_MAX_INSN * n))
    except gdb.MemoryError:
        try:
            data = decode.read_code(lambda a, k: inf.read_memory(a, k), lin)
        except gdb.MemoryError:
            return ["   (cannot read code at linear 0x%x)" % lin]
    m = st.mode
    from .disasm import syntax
    from .target import format_address
    out = []
    insns = decode.decode(data, lin, m.bits, st.cs.selector, st.cs.base, count=n,
                          syntax=syntax())
    if insns:
        snapshot.remember_decoded(snapshot.current().cpu, st, insns[0])
    for i, insn in enumerate(insns):
        where = addressing.seg_off(st.cs.selector, insn.ip, 16) if m.bits == 16 else ""
        out.append("%s 0x%x %s  %s" % ("=>" if i == 0 else "  ", insn.address, where,
                                        insn.text(format_address)))
    return out


def _changes(snap):
    now = {r: snap.regs[r] for r in CONTROL_REGS}
    old = _last_regs.get(snap.cpu)
    _last_regs[snap.cpu] = now
    return [] if old is None else changes(old, now)


def render():
    snap = snapshot.current()
    st = snap.state
    m = st.mode
    halted = " (in HLT: a stepi waits for an interrupt)" if snap.monitor.halted else ""
    who = "CPU %d, " % snap.cpu if target.cpu_count() > 1 else ""
    lines = ["-- bootlab: %s%s, paging %s -- %s%s" % (who, m.name, m.paging, st.format_pc(), halted)]
    for name, section in (("code", lambda: _code(st)), ("changes", lambda: _changes(snap))):
        try:
            lines += section()
        except (gdb.error, gdb.GdbError) as e:
            lines.append("   (%s failed: %s)" % (name, e))
    return lines


def show():
    t0 = time.perf_counter()
    text = "\n".join(render())
    last_ms[0] = (time.perf_counter() - t0) * 1000
    print(text)


def show_if_enabled():
    if ContextParam.instance is None or not ContextParam.instance.value:
        _changes(snapshot.current())   # still remember this stop: "changed since last stop"
        return False
    show()
    return True


def reset(*_):
    _last_regs.clear()


class ContextCommand(BlCommand):
    """Print the bootlab context now, and its cost.
Usage: bl context"""
    NAME = "context"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        snapshot.invalidate()
        show()
        print("(context took %.1f ms)" % last_ms[0])
