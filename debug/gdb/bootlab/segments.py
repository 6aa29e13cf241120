"""Segment registers with their hidden descriptor caches, GDTR and IDTR.

Every segment register has a visible selector and a hidden part (base,
limit, attributes) that the CPU loads from a descriptor when the selector is
loaded (SDM 3.4.3). In real mode a load sets base = selector * 16 and keeps
the rest. The hidden part decides how the CPU behaves, so it is what this
module shows, from QEMU's `monitor info registers`.
"""
from . import mode, state
from .command import BlCommand
from .sdm import (DESC_TYPE_SHIFT, DESC_TYPE_MASK, DESC_TYPE_CODE, DESC_TYPE_RW,
                  DESC_TYPE_DC, DESC_TYPE_ACCESSED, DESC_S, DESC_DPL_SHIFT,
                  DESC_DPL_MASK, DESC_P, DESC_AVL, DESC_L, DESC_DB, DESC_G,
                  SYS_TYPES_LEGACY, SYS_TYPES_LONG, EFER_LMA)


def type_text(flags, long_mode):
    """The type field in words: 'code RX', 'data RW', 'TSS64 busy'..."""
    t = (flags >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK
    if not flags & DESC_S:
        table = SYS_TYPES_LONG if long_mode else SYS_TYPES_LEGACY
        return table.get(t, "system type %d (reserved)" % t)
    if t & DESC_TYPE_CODE:
        text = "code X" + ("R" if t & DESC_TYPE_RW else "-")
        if t & DESC_TYPE_DC:
            text += " conforming"
    else:
        text = "data R" + ("W" if t & DESC_TYPE_RW else "-")
        if t & DESC_TYPE_DC:
            text += " expand-down"
    if t & DESC_TYPE_ACCESSED:
        text += " accessed"
    return text


def attr_text(flags, long_mode):
    """Attribute bits of a descriptor high dword in words (SDM Figure 3-8)."""
    words = [type_text(flags, long_mode),
             "DPL=%d" % ((flags >> DESC_DPL_SHIFT) & DESC_DPL_MASK)]
    words.append("P" if flags & DESC_P else "not-present")
    if flags & DESC_S:
        if flags & DESC_TYPE_CODE << DESC_TYPE_SHIFT and flags & DESC_L:
            words.append("L=64-bit")
        else:
            words.append("D=32-bit" if flags & DESC_DB else "D=16-bit")
    if flags & DESC_G:
        words.append("G=4K")
    if flags & DESC_AVL:
        words.append("AVL")
    return " ".join(words)


class SegCommand(BlCommand):
    """Show segment registers with their hidden caches, GDTR and IDTR.
Usage: bl seg
Segment registers with their hidden base, limit and attributes, plus LDTR,
TR, GDTR and IDTR, as the CPU holds them now (from `monitor info
registers`). In real mode each base is simply selector * 16."""
    NAME = "seg"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        mon = state.monitor()
        m = mode.current()
        long_mode = bool(state.reg("efer") & EFER_LMA)
        print("mode %s" % m.name)
        print("reg  sel   base              limit     attributes")
        for name in ("CS", "SS", "DS", "ES", "FS", "GS", "LDT", "TR"):
            s = mon.segs.get(name)
            if s is None:
                continue
            note = ""
            if m.cpu == "64-bit" and name in ("DS", "ES", "SS"):
                note = "  (base/limit ignored in 64-bit mode)"
            print("%-4s %04x  %016x  %08x  %s%s" % (name, s.selector, s.base, s.limit,
                                                    attr_text(s.flags, long_mode), note))
        for name in ("GDT", "IDT"):
            base, limit = mon.tables.get(name, (0, 0))
            print("%sR %-5s %016x  %08x  (%d bytes)" % (name, "", base, limit, limit + 1))
