"""What bootlab's GDB scripts ask QEMU itself, beyond registers: the
machine's run state (did it shut down?), guest memory by real-mode address,
and QEMU's exec log, which counts the instructions of stretches run at full
speed (make trace)."""
import os

import gdb

from ..qemu import monitor
from ..x86.addressing import real_linear


def ex(command):
    return gdb.execute(command, to_string=True)


def shutdown_note():
    """Why the guest stopped answering, when QEMU's machine shut down: with
    -no-reboot a reset request (a triple fault makes one) shuts it down, and
    -no-shutdown keeps it paused for inspection (configs/qemu.args)."""
    try:
        status = monitor.status(ex("monitor info status"))
    except gdb.error:
        return None
    if "shutdown" not in status:
        return None
    return ("the machine shut down (QEMU: %s): the CPU asked for a reset, as a triple "
            "fault does; lab/qemu-log.sh shows the exceptions" % status)


def real_mode_bytes(seg, off, count):
    """count bytes at seg:off (real mode) as hex, or None."""
    ex("maint flush dcache")     # raw steps never tell GDB the guest ran
    lin = real_linear(seg, off)
    try:
        return bytes(gdb.selected_inferior().read_memory(lin, count)).hex()
    except gdb.MemoryError:
        return None


class ExecLog:
    """QEMU's exec log (monitor `log exec,nochain` with `singlestep on`): one
    line per instruction executed, written line by line (seen on QEMU 7.2),
    so the lines added across a `continue` count its instructions."""

    def __init__(self, path):
        self.path = path
        try:
            ex("monitor logfile %s" % path)
            ex("monitor singlestep on")
            ex("monitor log exec,nochain")
            open(path, "ab").close()
        except (gdb.error, OSError):
            self.path = None

    def mark(self):
        return os.path.getsize(self.path) if self.path else None

    def lines_since(self, mark):
        if mark is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(mark)
            return f.read().count(b"\n")
