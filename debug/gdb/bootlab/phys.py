"""Reading guest *physical* memory, and `bl phys`.

GDB's memory accesses through QEMU use linear addresses, translated by the
guest's current page tables. Page tables and the VGA buffer live at physical
addresses, so this module switches QEMU's gdbstub to physical accesses with
its `Qqemu.PhyMemMode:1` packet for the duration of a read, flushing GDB's
memory cache on each switch so no linear bytes are reused as physical ones.
Where the packet is refused it falls back to `monitor xp`.
"""
import contextlib
import re

import gdb

from . import state
from .command import BlCommand

_depth = 0
_packet_ok = None
HEXDUMP_MAX = 0x10000


def _packet(text):
    out = gdb.execute("maint packet " + text, to_string=True)
    return 'received: "OK"' in out


@contextlib.contextmanager
def physical():
    """Within this block gdb memory reads take physical addresses."""
    global _depth, _packet_ok
    if _depth == 0:
        if _packet_ok is not False:
            _packet_ok = _packet("Qqemu.PhyMemMode:1")
        gdb.execute("maintenance flush dcache", to_string=True)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            if _packet_ok:
                _packet("Qqemu.PhyMemMode:0")
            gdb.execute("maintenance flush dcache", to_string=True)


def _read_xp(addr, length):
    out = bytearray()
    text = state.monitor_cmd("xp/%dxb 0x%x" % (length, addr))
    for line in text.splitlines():
        _, _, rest = line.partition(":")
        out += bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", rest))
    return bytes(out[:length])


def read(addr, length):
    """`length` bytes of physical memory at `addr`."""
    with physical():
        if _packet_ok:
            return bytes(gdb.selected_inferior().read_memory(addr, length))
    return _read_xp(addr, length)


def read_u64s(addr, count, size=8):
    data = read(addr, count * size)
    return [int.from_bytes(data[i:i + size], "little") for i in range(0, len(data), size)]


def hexdump(addr, data, width=16):
    lines = []
    for i in range(0, len(data), width):
        chunk = data[i:i + width]
        hx = " ".join("%02x" % b for b in chunk)
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append("0x%08x  %-*s  |%s|" % (addr + i, width * 3 - 1, hx, asc))
    return "\n".join(lines)


class PhysCommand(BlCommand):
    """Hexdump guest physical memory.
Usage: bl phys ADDR [LEN]
Hexdump LEN bytes (default 64, at most 65536) of guest physical memory at
ADDR, whatever the paging mode. ADDR and LEN are GDB expressions."""
    NAME = "phys"
    COMPLETE = gdb.COMPLETE_EXPRESSION

    def run(self, argv):
        if not 1 <= len(argv) <= 2:
            self.usage("expected ADDR and an optional LEN")
        addr = state.parse_int(argv[0])
        length = state.parse_int(argv[1], "length") if len(argv) > 1 else 64
        if not 0 < length <= HEXDUMP_MAX:
            self.usage("LEN must be 1..%d" % HEXDUMP_MAX)
        print(hexdump(addr, read(addr, length)))
