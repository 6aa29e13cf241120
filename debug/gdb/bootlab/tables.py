"""The GDT and IDT, decoded from guest memory.

GDTR and IDTR hold *linear* addresses (SDM 2.4.1), which is what GDB's
memory accesses through QEMU use, so the tables are read with ordinary
memory reads; with paging on QEMU translates them like the CPU would.

Descriptor layouts: segment descriptors SDM 3.4.5 (Figure 3-8), system
descriptors in IA-32e mode are 16 bytes (SDM 7.2.3, Figure 7-4 and 3.5),
gates SDM 6.11 (Figure 6-2) and 6.14.1 (Figure 6-8). In real mode the IDTR
points at the interrupt vector table of 4-byte segment:offset pairs (SDM 20.1.4).
"""
import struct

import gdb

from . import state
from .command import BlCommand
from .segments import attr_text
from .sdm import DESC_S, DESC_G, DESC_P, DESC_TYPE_SHIFT, DESC_TYPE_MASK, EFER_LMA, CR0_PE

DESC_SIZE = 8
LEGACY_GATES = (0x5, 0x6, 0x7, 0xe, 0xf)   # task, 16/32-bit int and trap (Table 3-2)
LONG_GATES = (0xe, 0xf)                   # 64-bit int and trap gates only
MAX_ENTRIES = 8192   # a GDT has at most 8192 descriptors (13-bit index)


def read_linear(addr, length):
    return bytes(gdb.selected_inferior().read_memory(addr, length))


def split_descriptor(low, high):
    """(base, byte limit, flags) of an 8-byte segment descriptor."""
    base = ((low >> 16) & 0xffff) | ((high & 0xff) << 16) | (high & 0xff000000)
    limit = (low & 0xffff) | (high & 0x000f0000)
    if high & DESC_G:
        limit = (limit << 12) | 0xfff
    flags = high & 0x00f0ff00
    return base, limit, flags


def decode_gdt(data, long_mode):
    """Yield (offset, raw bytes, text) for each descriptor in a GDT image."""
    off = 0
    while off + DESC_SIZE <= len(data):
        low, high = struct.unpack_from("<II", data, off)
        raw = data[off:off + DESC_SIZE]
        if off == 0:
            yield off, raw, "null descriptor"
            off += DESC_SIZE
            continue
        if not (low | high):
            yield off, raw, "empty"
            off += DESC_SIZE
            continue
        base, limit, flags = split_descriptor(low, high)
        if long_mode and not high & DESC_S and off + 16 <= len(data):
            # 16-byte system descriptor: bits 63:32 of the base follow.
            upper, = struct.unpack_from("<I", data, off + 8)
            base |= upper << 32
            raw = data[off:off + 16]
            size = 16
        else:
            size = DESC_SIZE
        yield off, raw, "base 0x%08x limit 0x%08x %s" % (base, limit, attr_text(flags, long_mode))
        off += size


def decode_gate(data, off, long_mode):
    """Text for the gate at offset `off` of a protected/long-mode IDT."""
    low, high = struct.unpack_from("<II", data, off)
    selector = low >> 16
    target = (low & 0xffff) | (high & 0xffff0000)
    if long_mode:
        upper, = struct.unpack_from("<I", data, off + 8)
        target |= upper << 32
    flags = high & 0xff00
    gate_type = (flags >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK
    valid = LONG_GATES if long_mode else LEGACY_GATES
    if flags & DESC_S or gate_type not in valid:
        # The CPU raises #GP on delivery through such an entry (SDM 6.12.1).
        return "not a gate (raw %016x): delivery through it raises #GP" % ((high << 32) | low)
    if gate_type == 0x5:   # task gate: the selector names a TSS, no offset
        return "task gate TSS selector 0x%04x %s" % (selector, attr_text(flags, long_mode))
    text = "%04x:%0*x %s" % (selector, 16 if long_mode else 8, target, attr_text(flags, long_mode))
    if long_mode and high & 7:
        text += " IST=%d" % (high & 7)
    return text


class GdtCommand(BlCommand):
    """Decode the global descriptor table from memory.
Usage: bl gdt
Decode the GDT that GDTR points at: for every selector its base, limit
(scaled by G), type, DPL and size bits. In long mode system descriptors
(TSS, LDT) are 16 bytes and shown as one entry."""
    NAME = "gdt"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        base, limit = state.monitor().tables["GDT"]
        long_mode = bool(state.reg("efer") & EFER_LMA)
        print("GDTR base 0x%x limit 0x%x" % (base, limit))
        if limit < DESC_SIZE - 1:
            print("(empty GDT)")
            return
        data = read_linear(base, min(limit + 1, MAX_ENTRIES * DESC_SIZE))
        for off, raw, text in decode_gdt(data, long_mode):
            value = int.from_bytes(raw[:8], "little")
            print("0x%04x  %016x  %s" % (off, value, text))


class IdtCommand(BlCommand):
    """Decode the interrupt descriptor table from memory.
Usage: bl idt [FIRST [COUNT]]
Decode the IDT that IDTR points at, from vector FIRST (default 0), COUNT
vectors (default: all, present gates only). In real mode this is the
interrupt vector table of segment:offset pairs."""
    NAME = "idt"

    def run(self, argv):
        if len(argv) > 2:
            self.usage("too many arguments")
        first = state.parse_int(argv[0], "vector") if argv else 0
        count = state.parse_int(argv[1], "count") if len(argv) > 1 else None
        base, limit = state.monitor().tables["IDT"]
        real = not state.reg("cr0") & CR0_PE
        long_mode = bool(state.reg("efer") & EFER_LMA)
        size = 4 if real else 16 if long_mode else 8
        total = (limit + 1) // size
        last = total if count is None else min(total, first + count)
        print("IDTR base 0x%x limit 0x%x (%d vectors, %d bytes each)" % (base, limit, total, size))
        if first >= last:
            return
        data = read_linear(base + first * size, (last - first) * size)
        shown = 0
        for vec in range(first, last):
            off = (vec - first) * size
            if real:
                ip, cs = struct.unpack_from("<HH", data, off)
                print("%3d  %04x:%04x (linear 0x%x)" % (vec, cs, ip, (cs << 4) + ip))
                shown += 1
                continue
            high, = struct.unpack_from("<I", data, off + 4)
            if not high & DESC_P and count is None:
                continue
            print("%3d  %s" % (vec, decode_gate(data, off, long_mode)))
            shown += 1
        if not shown:
            print("(no present gates)")
