"""Task-state segments from their bytes: which kind TR's descriptor names,
and the fields of a 16-, 32- or 64-bit TSS.

TR holds a selector plus a hidden cache (base, limit, attributes) like any
segment register (SDM 7.2.4); its type says which TSS layout the bytes at
the base follow: SDM 7.2.1 Figure 7-2 (32-bit), 7.7 Figure 7-11 (64-bit, in
IA-32e mode the same type numbers name a 64-bit TSS), 7.6 (the 80286's
16-bit TSS). In 64-bit mode the TSS holds no registers of a task, only the
stacks the CPU switches to: RSP0-2 on a privilege change, IST1-7 for a gate
whose IST field is non-zero (SDM 6.14.5).
"""
import struct

from .sdm import (DESC_TYPE_SHIFT, DESC_TYPE_MASK, DESC_S, DESC_P, SYS_TYPE_TSS,
                  SYS_TYPE_TSS_BUSY, SYS_TYPE_TSS16, SYS_TYPE_TSS16_BUSY, TSS32_ESP0,
                  TSS32_CR3, TSS32_EIP, TSS32_LDT, TSS32_TRAP, TSS32_SIZE, TSS_IOMAP_BASE,
                  TSS64_RSP0, TSS64_IST1, TSS64_IST_COUNT, TSS64_SIZE, TSS16_SIZE)

TSS16, TSS32, TSS64 = "TSS16", "TSS32", "TSS64"
MIN_SIZE = {TSS16: TSS16_SIZE, TSS32: TSS32_SIZE, TSS64: TSS64_SIZE}
# The 32-bit TSS after CR3 (Figure 7-2): EIP, EFLAGS, then the general
# registers in PUSHA order's cousins, then the segment selectors (words
# padded to 32 bits), then the LDT selector.
TSS32_REGS = ("EIP", "EFLAGS", "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI")
TSS32_SEGS = ("ES", "CS", "SS", "DS", "FS", "GS")
# The 16-bit TSS is words only: link, SP0 SS0 SP1 SS1 SP2 SS2, IP FLAGS,
# AX CX DX BX SP BP SI DI, ES CS SS DS, LDT.
TSS16_WORDS = ("link", "SP0", "SS0", "SP1", "SS1", "SP2", "SS2", "IP", "FLAGS", "AX", "CX",
               "DX", "BX", "SP", "BP", "SI", "DI", "ES", "CS", "SS", "DS", "LDT")


class NoTss(ValueError):
    """TR does not name a usable TSS; the message says why."""


def kind(flags, long_mode):
    """TSS16, TSS32 or TSS64 for TR's cached attributes (its descriptor's
    high doubleword), and whether it is marked busy; NoTss otherwise."""
    t = (flags >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK
    if flags & DESC_S:
        raise NoTss("TR's descriptor is a code/data descriptor, not a TSS")
    if t in (SYS_TYPE_TSS, SYS_TYPE_TSS_BUSY):
        return (TSS64 if long_mode else TSS32), t == SYS_TYPE_TSS_BUSY
    if t in (SYS_TYPE_TSS16, SYS_TYPE_TSS16_BUSY) and not long_mode:
        return TSS16, t == SYS_TYPE_TSS16_BUSY
    raise NoTss("TR's descriptor has system type %d, which is not a TSS%s"
                % (t, " in IA-32e mode" if long_mode else ""))


def tr_not_loaded(selector, base, limit, flags):
    """TR as the CPU leaves reset (selector 0, base 0, limit 0xffff, SDM 9.1.1
    Table 9-1): no LTR has run."""
    return selector == 0 and base == 0 and limit == 0xffff


def _iomap(data, limit):
    """(base, words): the I/O permission bitmap's base and what it means."""
    base, = struct.unpack_from("<H", data, TSS_IOMAP_BASE)
    if base > limit:
        return base, "past the limit 0x%x: no I/O permission bitmap, so at CPL > IOPL " \
                     "every IN/OUT raises #GP (SDM 19.5.2)" % limit
    size = limit + 1 - base
    allowed = []
    bitmap = data[base:limit + 1] if len(data) > base else b""
    for byte_index, byte in enumerate(bitmap):
        for bit in range(8):
            if not byte >> bit & 1:
                allowed.append(byte_index * 8 + bit)
    return base, "bitmap of %d bytes at offset 0x%x (ports past it fault); ports allowed " \
                 "at CPL > IOPL: %s" % (size, base, _ranges(allowed) or "none")


def _ranges(ports):
    out, start = [], None
    for i, p in enumerate(ports):
        if start is None:
            start = p
        if i + 1 == len(ports) or ports[i + 1] != p + 1:
            out.append("0x%x" % start if start == p else "0x%x-0x%x" % (start, p))
            start = None
    return ", ".join(out)


def fields(data, which, limit):
    """[(name, value, note)] of a TSS image (at least MIN_SIZE bytes, more
    when the limit reaches an I/O bitmap)."""
    if len(data) < MIN_SIZE[which]:
        raise NoTss("a %s needs %d bytes; the limit (0x%x) leaves %d" % (
            which, MIN_SIZE[which], limit, len(data)))
    out = []
    if which == TSS64:
        for ring in range(3):
            out.append(("RSP%d" % ring, struct.unpack_from("<Q", data, TSS64_RSP0 + 8 * ring)[0],
                        "stack on entry to ring %d" % ring))
        for n in range(TSS64_IST_COUNT):
            value, = struct.unpack_from("<Q", data, TSS64_IST1 + 8 * n)
            out.append(("IST%d" % (n + 1), value, "" if value else "unused (0)"))
    elif which == TSS32:
        link, = struct.unpack_from("<H", data, 0)
        out.append(("link", link, "previous task's TSS selector (nested task)"))
        for ring in range(3):
            esp, ss = struct.unpack_from("<IH", data, TSS32_ESP0 + 8 * ring)
            out.append(("SS%d:ESP%d" % (ring, ring), (ss, esp),
                        "stack on entry to ring %d" % ring))
        out.append(("CR3", struct.unpack_from("<I", data, TSS32_CR3)[0], ""))
        for i, name in enumerate(TSS32_REGS):
            out.append((name, struct.unpack_from("<I", data, TSS32_EIP + 4 * i)[0], ""))
        segs = TSS32_EIP + 4 * len(TSS32_REGS)
        for i, name in enumerate(TSS32_SEGS):
            out.append((name, struct.unpack_from("<H", data, segs + 4 * i)[0], ""))
        out.append(("LDT", struct.unpack_from("<H", data, TSS32_LDT)[0], "LDT selector"))
        trap = struct.unpack_from("<H", data, TSS32_TRAP)[0] & 1
        out.append(("T", trap, "debug trap on a switch to this task" if trap else ""))
    else:
        for i, name in enumerate(TSS16_WORDS):
            out.append((name, struct.unpack_from("<H", data, 2 * i)[0], ""))
        return out                        # no I/O bitmap before the 386
    base, text = _iomap(data, limit)
    out.append(("I/O map base", base, text))
    return out


def format_value(which, name, value):
    if isinstance(value, tuple):          # SS:ESP
        return "%04x:%08x" % value
    if which == TSS64 and name.startswith(("RSP", "IST")):
        return "0x%016x" % value
    return "0x%x" % value
