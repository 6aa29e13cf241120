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

from . import target
from .command import BlCommand

_COUNT = re.compile(r"Replaying execution '([^']*)': instruction count = (\d+)")

_state = {"active": None, "last": None}   # active None: not asked yet on this connection
direction = ""     # "back" or "forward" for the latest stop, "" outside replay


def position():
    """(log file, instruction count), or None when QEMU is not replaying."""
    if _state["active"] is False:
        return None
    try:
        m = _COUNT.search(target.monitor("info replay"))
    except gdb.GdbError:
        m = None
    _state["active"] = bool(m)
    return (m.group(1), int(m.group(2))) if m else None


def on_stop(_event=None):
    """Note the direction of the latest move; one line when it went back."""
    global direction
    pos = position()
    if pos is None:
        direction = ""
        return
    count, last = pos[1], _state["last"]
    if last is not None and count < last:
        direction = "back"
        print("bootlab: replay instruction %d (%d back)" % (count, last - count))
    else:
        direction = "forward"
    _state["last"] = count


def forget(*_):
    global direction
    _state.update(active=None, last=None)
    direction = ""


class ReplayCommand(BlCommand):
    """Where the replay stands: the instruction count in the recording.

Usage: bl replay
Only under `make debug-rr`. reverse-stepi, reverse-next, reverse-step,
reverse-finish, reverse-continue and watchpoints then run backwards; at the
first or last recorded instruction GDB says "No more reverse-execution
history"."""
    NAME = "replay"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        pos = position()
        if pos is None:
            raise gdb.GdbError("bl replay: QEMU is not replaying a recording "
                               "(make debug-rr records one and replays it)")
        print("replaying %s: instruction %d" % pos)
