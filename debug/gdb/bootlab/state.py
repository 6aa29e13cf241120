"""What every command needs from the target: is it live, registers, and the
parts of the CPU state GDB cannot see.

QEMU's target description gives GDB the general registers, CR0-CR4 and EFER,
but not the hidden descriptor caches (base, limit, attributes of CS...), GDTR
or IDTR. `monitor info registers` prints those; it costs about 1 ms, so its
parsed result is cached until the target runs or the user writes registers or
memory.
"""
import re

import gdb

_cache = None


class Segment:
    """One segment register as QEMU holds it: selector plus hidden cache."""

    def __init__(self, name, selector, base, limit, flags):
        self.name = name
        self.selector = selector
        self.base = base
        self.limit = limit
        self.flags = flags   # the descriptor's high dword, SDM Figure 3-8


class Monitor:
    """Parsed `monitor info registers`."""

    def __init__(self, text):
        self.text = text
        self.segs = {}
        self.tables = {}
        self.values = {}
        seg_re = re.compile(r"^(ES|CS|SS|DS|FS|GS|LDT|TR)\s*=([0-9a-f]{4}) "
                            r"([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)", re.M)
        for m in seg_re.finditer(text):
            name = m.group(1)
            self.segs[name] = Segment(name, *(int(g, 16) for g in m.groups()[1:]))
        for m in re.finditer(r"^(GDT|IDT)=\s*([0-9a-f]+) ([0-9a-f]+)", text, re.M):
            self.tables[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
        for m in re.finditer(r"\b(CR[0234]|EFER|CPL|A20)=([0-9a-f]+)", text):
            self.values[m.group(1)] = int(m.group(2), 16)
        if "CS" not in self.segs:
            raise gdb.GdbError("bootlab: cannot parse `monitor info registers` "
                               "(is this QEMU's gdbstub?)")


def invalidate(*_):
    global _cache
    _cache = None


def require_live():
    """Raise a one-line error unless a stopped, connected target is selected."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or gdb.selected_thread() is None:
        raise gdb.GdbError("bootlab: no live target; connect first, e.g. "
                           "target remote | exec qemu-system-x86_64 -S -gdb stdio ...")
    if gdb.selected_thread().is_running():
        raise gdb.GdbError("bootlab: the target is running; interrupt it (Ctrl-C) first")
    if not gdb.newest_frame().architecture().name().startswith("i386"):
        raise gdb.GdbError("bootlab: the target is not an x86 CPU")


def is_live():
    try:
        require_live()
        return True
    except gdb.GdbError:
        return False


def monitor_cmd(cmd):
    """Run a QEMU monitor command and return its text."""
    try:
        return gdb.execute("monitor " + cmd, to_string=True)
    except gdb.error as e:
        raise gdb.GdbError("bootlab: `monitor %s` failed (%s); bootlab needs "
                           "QEMU's gdbstub" % (cmd, str(e).strip()))


def monitor():
    """The parsed `monitor info registers` of the current stop (cached)."""
    global _cache
    if _cache is None:
        require_live()
        _cache = Monitor(monitor_cmd("info registers"))
    return _cache


def reg(name):
    """An integer register value of the innermost frame, e.g. reg('cr0')."""
    value = gdb.newest_frame().read_register(name)
    return int(value) & 0xffffffffffffffff


def regs(*names):
    """Several register values, reading the frame once (for tight loops)."""
    frame = gdb.newest_frame()
    return tuple(int(frame.read_register(n)) & 0xffffffffffffffff for n in names)


def seg(name):
    return monitor().segs[name.upper()]


def parse_int(text, what="address"):
    """Evaluate a GDB expression to an int, or raise a one-line error."""
    if not text:
        raise gdb.GdbError("bootlab: missing %s" % what)
    try:
        return int(gdb.parse_and_eval(text)) & 0xffffffffffffffff
    except (gdb.error, ValueError) as e:
        raise gdb.GdbError("bootlab: bad %s %r: %s" % (what, text, e))


def connect_events():
    for registry in (gdb.events.cont, gdb.events.stop, gdb.events.exited,
                     gdb.events.memory_changed, gdb.events.register_changed,
                     gdb.events.new_objfile):
        registry.connect(invalidate)
