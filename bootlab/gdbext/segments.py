"""`bl seg`: segment registers with their hidden descriptor caches, GDTR and
IDTR, of the selected CPU.

Every segment register has a visible selector and a hidden part (base,
limit, attributes) that the CPU loads from a descriptor when the selector is
loaded (SDM 3.4.3). In real mode a load sets base = selector * 16 and keeps
the rest. The hidden part decides how the CPU behaves, so it is what this
shows, from QEMU's `monitor info registers` (bootlab.qemu.monitor).
"""
from ..x86.cpu import SEGMENTS
from ..x86.descriptors import attr_text
from . import snapshot
from .command import BlCommand


def rows(state):
    """(name, Segment) of each segment register the monitor showed."""
    return [(n, state.segs[n]) for n in SEGMENTS if n in state.segs]


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
        st = snapshot.current().state
        m = st.mode
        print("mode %s" % m.name)
        print("reg  sel   base              limit     attributes")
        for name, s in rows(st):
            note = ""
            if m.cpu == "64-bit" and name in ("DS", "ES", "SS"):
                note = "  (base/limit ignored in 64-bit mode)"
            print("%-4s %04x  %016x  %08x  %s%s" % (name, s.selector, s.base, s.limit,
                                                    attr_text(s.flags, m.long), note))
        for name in ("GDT", "IDT"):
            base, limit = st.tables.get(name, (0, 0))
            print("%sR %-5s %016x  %08x  (%d bytes)" % (name, "", base, limit, limit + 1))
