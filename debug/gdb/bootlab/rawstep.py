"""rawstep.py: single steps sent straight to QEMU's gdbstub, for long loops.

GDB's `stepi` costs over a millisecond a step here: it refetches every
register, rebuilds frames and runs every stop observer. A bare remote-protocol
`s` packet, and a `g` packet for the few registers a loop needs, cost a
fraction of that. While raw steps run GDB's register cache is stale, so
resync() must be called before GDB itself looks at the target again.
"""
import re

import gdb

from . import state

_REPLY = re.compile(r'received: "(.*)"', re.S)


def _packet(text):
    out = gdb.execute("maint packet " + text, to_string=True)
    m = _REPLY.search(out)
    if not m:
        raise gdb.GdbError("bootlab: no reply to the remote %r packet" % text)
    return m.group(1)


class RawStepper:
    """Steps the target and reads named registers from the `g` packet, at the
    offsets the remote target itself reports (maint print remote-registers)."""

    def __init__(self, names):
        layout = {}
        table = gdb.execute("maint print remote-registers", to_string=True)
        for line in table.splitlines()[1:]:
            f = line.split()
            # Name Nr Rel Offset Size Type "Rmt Nr" "g/G Offset"
            if len(f) == 8 and f[7].isdigit():
                layout[f[0]] = (int(f[7]), int(f[4]))
        missing = [n for n in names if n not in layout]
        if missing:
            raise gdb.GdbError("bootlab: the target sends no %s register" % ", ".join(missing))
        self.fields = [layout[n] for n in names]

    def step(self):
        reply = _packet("s")
        if not reply.startswith(("T", "S")):   # a stop reply; W/X: the guest is gone
            raise gdb.GdbError("bootlab: the target did not stop after a step (%s)" % reply[:40])

    def read(self):
        g = _packet("g")
        return [int.from_bytes(bytes.fromhex(g[2 * off:2 * (off + size)]), "little")
                for off, size in self.fields]


def resync():
    """Make GDB (and our own cache) read the target's registers afresh."""
    gdb.execute("maint flush register-cache", to_string=True)
    gdb.execute("maint flush dcache", to_string=True)
    state.invalidate()
