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

from . import target
from .command import BlCommand

_depth = [0]
_packet_ok = [None]
HEXDUMP_MAX = 0x10000
# The physical address width of the CPU: addresses at or above 2^52 do not
# exist on any x86 CPU (SDM 4.1.4, MAXPHYADDR <= 52).
PHYS_MAX = (1 << 52) - 1


@contextlib.contextmanager
def physical():
    """Within this block gdb memory reads take physical addresses."""
    if _depth[0] == 0:
        if _packet_ok[0] is not False:
            _packet_ok[0] = target.packet("Qqemu.PhyMemMode:1") == "OK"
        gdb.execute("maintenance flush dcache", to_string=True)
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            if _packet_ok[0]:
                target.packet("Qqemu.PhyMemMode:0")
            gdb.execute("maintenance flush dcache", to_string=True)


def forget(*_):
    _packet_ok[0] = None


def _read_xp(addr, length):
    out = bytearray()
    text = target.monitor("xp/%dxb 0x%x" % (length, addr))
    for line in text.splitlines():
        _, _, rest = line.partition(":")
        out += bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", rest))
    return bytes(out[:length])


def read(addr, length):
    """`length` bytes of physical memory at `addr`."""
    with physical():
        if _packet_ok[0]:
            return bytes(gdb.selected_inferior().read_memory(addr, length))
    return _read_xp(addr, length)


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
        addr = target.parse_int(argv[0], "physical address", 0, PHYS_MAX)
        length = target.parse_int(argv[1], "length", 1, HEXDUMP_MAX) if len(argv) > 1 else 64
        if addr + length - 1 > PHYS_MAX:
            self.usage("ADDR+LEN goes past the largest physical address 0x%x" % PHYS_MAX)
        print(hexdump(addr, read(addr, length)))
