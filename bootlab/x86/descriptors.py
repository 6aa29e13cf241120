"""Segment descriptors, system descriptors and gates, from their bytes.

Layouts: segment descriptors SDM 3.4.5 (Figure 3-8); system descriptors are
16 bytes in IA-32e mode (SDM 7.2.3, Figure 7-4; 3.5); gates SDM 6.11
(Figure 6-2) and 6.14.1 (Figure 6-8). In real mode the IDTR points at the
interrupt vector table: 4-byte offset:segment pairs (SDM 20.1.4).

"flags" everywhere means a descriptor's high doubleword with the base bits
cleared: the form QEMU's `info registers` prints for each segment register.
"""
import struct

from .sdm import (DESC_TYPE_SHIFT, DESC_TYPE_MASK, DESC_TYPE_CODE, DESC_TYPE_RW,
                  DESC_TYPE_DC, DESC_TYPE_ACCESSED, DESC_S, DESC_DPL_SHIFT, DESC_DPL_MASK,
                  DESC_P, DESC_AVL, DESC_L, DESC_DB, DESC_G, DESC_SIZE, DESC_SIZE_LONG_SYS,
                  GDT_MAX_ENTRIES, IDT_VECTORS, IVT_ENTRY_SIZE, GATE_IST_MASK,
                  SYS_TYPES_LEGACY, SYS_TYPES_LONG, SYS_TYPE_TASK_GATE,
                  IDT_GATES_LEGACY, IDT_GATES_LONG, REAL_SEG_SHIFT, SEL_TI, SEL_RPL_MASK)

FLAGS_MASK = 0x00ffff00      # high doubleword without base 31:24 and 23:16, as QEMU prints it
LIMIT_HIGH = 0x000f0000


def split(low, high):
    """(base, byte limit, flags) of an 8-byte segment descriptor given as
    its two doublewords; the limit is scaled by G (SDM 3.4.5). flags keeps
    limit 19:16, like QEMU's `info registers`."""
    base = ((low >> 16) & 0xffff) | ((high & 0xff) << 16) | (high & 0xff000000)
    limit = (low & 0xffff) | (high & LIMIT_HIGH)
    if high & DESC_G:
        limit = (limit << 12) | 0xfff
    return base, limit, high & FLAGS_MASK


def type_text(flags, long_mode):
    """The type field in words: 'code XR', 'data RW', 'TSS64 busy'..."""
    t = (flags >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK
    if not flags & DESC_S:
        table = SYS_TYPES_LONG if long_mode else SYS_TYPES_LEGACY
        return table.get(t, "system type %d (reserved)" % t)
    if t & (DESC_TYPE_CODE >> DESC_TYPE_SHIFT):
        text = "code X" + ("R" if t & (DESC_TYPE_RW >> DESC_TYPE_SHIFT) else "-")
        if t & (DESC_TYPE_DC >> DESC_TYPE_SHIFT):
            text += " conforming"
    else:
        text = "data R" + ("W" if t & (DESC_TYPE_RW >> DESC_TYPE_SHIFT) else "-")
        if t & (DESC_TYPE_DC >> DESC_TYPE_SHIFT):
            text += " expand-down"
    if t & (DESC_TYPE_ACCESSED >> DESC_TYPE_SHIFT):
        text += " accessed"
    return text


def attr_text(flags, long_mode):
    """The attribute bits in words. L=1 means 64-bit code only in IA-32e
    mode; elsewhere the CPU ignores L (SDM 5.2.1) and D decides."""
    words = [type_text(flags, long_mode),
             "DPL=%d" % ((flags >> DESC_DPL_SHIFT) & DESC_DPL_MASK),
             "P" if flags & DESC_P else "not-present"]
    if flags & DESC_S:
        code = flags & DESC_TYPE_CODE
        if code and flags & DESC_L and long_mode:
            words.append("L=64-bit")
        else:
            words.append("D=32-bit" if flags & DESC_DB else "D=16-bit")
            if code and flags & DESC_L:
                words.append("L=1 (64-bit code once in long mode)")
    if flags & DESC_G:
        words.append("G=4K")
    if flags & DESC_AVL:
        words.append("AVL")
    return " ".join(words)


def gdt_entries(data, long_mode, null_first=True):
    """(offset, raw bytes, text) for each descriptor of a GDT image, at most
    GDT_MAX_ENTRIES. In IA-32e mode a system descriptor takes 16 bytes.
    null_first=False for an LDT, whose entry 0 is an ordinary descriptor
    (only the GDT's first entry is the null descriptor, SDM 3.4.2)."""
    off = 0
    end = min(len(data), GDT_MAX_ENTRIES * DESC_SIZE)
    while off + DESC_SIZE <= end:
        low, high = struct.unpack_from("<II", data, off)
        raw = data[off:off + DESC_SIZE]
        size = DESC_SIZE
        if off == 0 and null_first:
            text = "null descriptor"
        elif not (low | high):
            text = "empty"
        else:
            base, limit, flags = split(low, high)
            if long_mode and not high & DESC_S and off + DESC_SIZE_LONG_SYS <= len(data):
                upper, = struct.unpack_from("<I", data, off + DESC_SIZE)
                base |= upper << 32
                size = DESC_SIZE_LONG_SYS
                raw = data[off:off + size]
            text = "base 0x%08x limit 0x%08x %s" % (base, limit, attr_text(flags, long_mode))
        yield off, raw, text
        off += size


def idt_layout(real, long_mode, limit):
    """(entry size, number of entries) of the IDT (or IVT) that IDTR with
    this limit describes. The CPU never looks past vector 255, whatever
    the limit says (SDM 6.10), so neither does this."""
    size = IVT_ENTRY_SIZE if real else DESC_SIZE_LONG_SYS if long_mode else DESC_SIZE
    return size, min(IDT_VECTORS, (limit + 1) // size)


def ivt_entry(data, off):
    """(segment, offset, linear address) of a real-mode IVT entry."""
    ip, cs = struct.unpack_from("<HH", data, off)
    return cs, ip, (cs << REAL_SEG_SHIFT) + ip


def gate_present(data, off):
    high, = struct.unpack_from("<I", data, off + 4)
    return bool(high & DESC_P)


def gate_text(data, off, long_mode):
    """Text for the gate at offset `off` of a protected/long-mode IDT."""
    low, high = struct.unpack_from("<II", data, off)
    selector = low >> 16
    target = (low & 0xffff) | (high & 0xffff0000)
    if long_mode:
        upper, = struct.unpack_from("<I", data, off + 8)
        target |= upper << 32
    flags = high & 0xff00
    gate_type = (flags >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK
    valid = IDT_GATES_LONG if long_mode else IDT_GATES_LEGACY
    if flags & DESC_S or gate_type not in valid:
        # The CPU raises #GP on delivery through such an entry (SDM 6.12.1).
        return "not a gate (raw %016x): delivery through it raises #GP" % ((high << 32) | low)
    if gate_type == SYS_TYPE_TASK_GATE:   # the selector names a TSS, no offset
        return "task gate TSS selector 0x%04x %s" % (selector, attr_text(flags, long_mode))
    text = "%04x:%0*x %s" % (selector, 16 if long_mode else 8, target, attr_text(flags, long_mode))
    if long_mode and high & GATE_IST_MASK:
        text += " IST=%d" % (high & GATE_IST_MASK)
    return text


def gdtr_is_reset_value(base, limit):
    """GDTR as the CPU comes out of reset (base 0, limit 0xffff, SDM 9.1.1
    Table 9-1): no LGDT yet, and in real mode the bytes there are the IVT."""
    return base == 0 and limit == 0xffff


def ldt_selector(offset, rpl=0):
    """The selector that names the LDT entry at this byte offset: its index,
    TI=1 (SDM 3.4.2, Figure 3-6), and the requested privilege level."""
    return offset | SEL_TI | rpl


def ldtr_empty(selector, flags):
    """LDTR null or not present: no LDT in use (SDM 3.5.1: a null LDTR is
    allowed, and every selector with TI=1 then raises #GP)."""
    return (selector & ~SEL_RPL_MASK) == 0 or not flags & DESC_P
