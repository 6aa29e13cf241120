"""Where are we in a recording? (make debug-rr: QEMU replaying a recorded boot)

Under replay, QEMU counts every guest instruction (`monitor info replay`:
"Replaying execution 'F': instruction count = N"). Comparing the count at
each stop with the previous one tells which way execution went, so the mode
messages can say that a change was seen going backwards: after
reverse-continue from kmain to pm_entry, "64-bit -> protected (32-bit)" is the
far jump into long mode, undone.
"""
import re

import gdb

from . import state
from .command import BlCommand

_COUNT = re.compile(r"Replaying execution '([^']*)': instruction count = (\d+)")

_active = None     # None: not asked yet on this connection
_last = None       # instruction count at the previous stop
direction = ""     # "back" or "forward" for the latest stop, "" outside replay


def position():
    """(log file, instruction count), or None when QEMU is not replaying."""
    global _active
    if _active is False:
        return None
    try:
        m = _COUNT.search(state.monitor_cmd("info replay"))
    except gdb.GdbError:
        m = None
    _active = bool(m)
    return (m.group(1), int(m.group(2))) if m else None


def on_stop(_event=None):
    """Note the direction of the latest move; one line when it went back."""
    global _last, direction
    pos = position()
    if pos is None:
        direction = ""
        return
    count = pos[1]
    if _last is not None and count < _last:
        direction = "back"
        print("bootlab: replay instruction %d (%d back)" % (count, _last - count))
    else:
        direction = "forward"
    _last = count


def forget(*_):
    global _active, _last, direction
    _active, _last, direction = None, None, ""


class ReplayCommand(BlCommand):
    """Where the replay stands: the instruction count in the recording.

Usage: bl replay
Only under `make debug-rr`. reverse-stepi, reverse-next, reverse-step,
reverse-finish, reverse-continue and watchpoints then run backwards; at the
first or last recorded instruction GDB says "No more reverse-execution
history"."""
    NAME = "replay"
    LIVE = True

    def run(self, argv):
        if argv:
            raise gdb.GdbError("usage: bl replay")
        pos = position()
        if pos is None:
            raise gdb.GdbError("bl replay: QEMU is not replaying a recording "
                               "(make debug-rr records one and replays it)")
        print("replaying %s: instruction %d" % pos)
