"""QEMU's exec log, which counts the instructions of the stretches make
trace runs at full speed (a BIOS call).

`log exec,nochain` with `singlestep on` (monitor commands) makes QEMU write
one line per instruction it executes, as it executes it (seen on QEMU 7.2:
the file grows line by line, not at exit), so the lines added across a
stretch count its instructions. Both make QEMU several times slower, so
they are on only while a stretch is counted: mark() switches them on,
lines_since() off. `monitor` is any callable that runs a monitor command
(bootlab.remote.Remote.monitor).
"""
import os


class ExecLog:
    def __init__(self, monitor, path):
        self.monitor, self.path = monitor, path
        try:
            monitor("logfile %s" % path)
            open(path, "ab").close()
        except OSError:
            self.path = None

    def mark(self):
        """Start counting; where the log ends now (None: no log)."""
        if not self.path:
            return None
        at = os.path.getsize(self.path)
        self.monitor("singlestep on")
        self.monitor("log exec,nochain")
        return at

    def lines_since(self, mark):
        """Stop counting; the instructions executed since mark, or None."""
        if mark is None:
            return None
        self.monitor("log none")
        self.monitor("singlestep off")
        with open(self.path, "rb") as f:
            f.seek(mark)
            return f.read().count(b"\n")


class NoExecLog:
    """An AP calls no BIOS: nothing to count, and no exec log to slow it."""

    def mark(self):
        return None

    def lines_since(self, mark):
        return None
