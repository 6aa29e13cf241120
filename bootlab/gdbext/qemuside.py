"""What bootlab's GDB scripts ask QEMU itself, beyond registers: the
machine's run state (did it shut down?)."""
import gdb

from ..qemu import monitor


def ex(command):
    return gdb.execute(command, to_string=True)


def shutdown_note():
    """Why the guest stopped answering, when QEMU's machine shut down (the
    core's reading of `monitor info status`), else None."""
    try:
        return monitor.shutdown_note(ex("monitor info status"))
    except gdb.error:
        return None
