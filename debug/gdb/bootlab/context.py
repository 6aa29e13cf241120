"""The context display printed at every stop (`set bootlab context on|off`):
mode, CS:IP with its linear address, the next instructions decoded in the
current mode, and the control registers that changed since the last stop.

It costs one `monitor info registers` and one memory read (a few ms);
`bl context` prints it on demand and how long it took.
"""
import time

import gdb

from . import disasm, mode, regs, state
from .command import BlCommand, BlParameter

CHANGE_REGS = ("cr0", "cr2", "cr3", "cr4", "efer")
_last_regs = None
last_ms = 0.0


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
    """How many instructions the bootlab context shows."""
    NAME = "context-lines"
    instance = None

    def __init__(self):
        super().__init__(gdb.PARAM_ZUINTEGER)
        self.value = 4
        ContextLines.instance = self


def _code(m):
    lin = mode.linear_pc()
    n = ContextLines.instance.value if ContextLines.instance else 4
    if not n:
        return []
    try:
        data = bytes(gdb.selected_inferior().read_memory(lin, disasm.X86_MAX_INSN * n))
    except gdb.MemoryError:
        try:
            data = disasm.read_code(lambda k, a: gdb.selected_inferior().read_memory(a, k), lin)
        except gdb.MemoryError:
            return ["   (cannot read code at linear 0x%x)" % lin]
    cs = state.seg("CS")
    ip = state.reg("pc")
    out = []
    for i, insn in enumerate(disasm.decode(data, lin, m.bits, n)):
        if m.bits == 16:
            where = "%04x:%04x" % (cs.selector, (ip + insn.address - lin) & 0xffff)
        else:
            where = ""
        out.append("%s 0x%x %s  %s" % ("=>" if i == 0 else "  ", insn.address, where,
                                        disasm.format_insn(insn)))
    return out


def _changes():
    global _last_regs
    now = {r: state.reg(r) for r in CHANGE_REGS}
    old, _last_regs = _last_regs, now
    if old is None:
        return []
    out = []
    for r in CHANGE_REGS:
        if old[r] != now[r]:
            bits = regs.bit_changes(old[r], now[r], regs.BIT_TABLES.get(r, ()))
            out.append("%s 0x%x -> 0x%x%s" % (r.upper(), old[r], now[r],
                                               "  (%s)" % bits if bits else ""))
    return out


def render():
    m = mode.current()
    lines = ["-- bootlab: %s, paging %s -- %s" % (m.name, m.paging, mode.format_pc(m))]
    for section in (_code, _changes):
        try:
            lines += section(m) if section is _code else section()
        except (gdb.error, gdb.GdbError) as e:
            lines.append("   (%s failed: %s)" % (section.__name__.strip("_"), e))
    return lines


def show():
    global last_ms
    t0 = time.perf_counter()
    text = "\n".join(render())
    last_ms = (time.perf_counter() - t0) * 1000
    print(text)


def show_if_enabled():
    if ContextParam.instance is None or not ContextParam.instance.value:
        _changes()   # still remember this stop's registers: "changed since last stop"
        return False
    show()
    return True


def reset(*_):
    global _last_regs
    _last_regs = None


class ContextCommand(BlCommand):
    """Print the bootlab context now, and its cost.
Usage: bl context"""
    NAME = "context"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        state.invalidate()
        disasm.invalidate()
        show()
        print("(context took %.1f ms)" % last_ms)
