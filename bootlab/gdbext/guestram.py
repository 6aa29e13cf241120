"""Guest RAM read straight from the memory QEMU runs the guest in.

`make debug` runs the guest's RAM in a memfd that its launcher made and
hands to GDB as well (session.Qemu ram_bytes, cmdline.shared_ram_args):
BOOTLAB_GUEST_RAM_FD names its descriptor. A read from it is
a memory copy, where QEMU's monitor (`pmemsave`) costs ~1 ms per MiB plus a
round trip: that is what lets `bl maps` walk a big map at the speed of the
reads. Anything else (another QEMU, `make gdb`, a replay) reads as before.

The file holds RAM only, laid out as the i440FX PC lays it out (the only
machine that gets a shared RAM, cmdline.ram_bytes; where each address is:
cmdline.ram_file_offset). Elsewhere read() says None. And each read is
checked: its first bytes must be what the gdbstub reads at the same
physical address (one short packet), so a GDB
that has since attached to another QEMU, or any layout this module does not
know, gets the monitor's reads instead, never another machine's memory.
"""
import mmap
import os
import stat

import gdb

from ..qemu.cmdline import ram_file_offset
from . import phys

PROBE_BYTES = 64             # compared with the gdbstub's read before each use

_state = {"map": None}
used = [0]                   # reads served from the shared RAM (tests, make bench)


def _mapping():
    """The shared RAM mapped read-only, or False. Its size is the file's own
    (fstat): a mapping past a file's end would kill GDB on the first read."""
    if _state["map"] is None:
        _state["map"] = False
        try:
            fd = int(os.environ.get("BOOTLAB_GUEST_RAM_FD", ""))
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_size:
                _state["map"] = mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, mmap.PROT_READ)
        except (ValueError, OSError):
            pass
    return _state["map"]


def read(addr, n):
    """n bytes of guest RAM at physical addr from the shared file, or None."""
    m = _mapping()
    at = ram_file_offset(addr, n, len(m)) if m else None
    if at is None:
        return None
    k = min(n, PROBE_BYTES)
    try:
        if phys.read(addr, k) != m[at:at + k]:
            return None
    except (gdb.error, gdb.GdbError):
        return None
    used[0] += 1
    return m[at:at + n]
