"""`bl gdt` and `bl idt`: the descriptor tables of the selected CPU, decoded
by the core (bootlab.x86.descriptors) from guest memory.

GDTR and IDTR hold *linear* addresses (SDM 2.4.1), which is what GDB's
memory accesses through QEMU use, so the tables are read with ordinary
memory reads; with paging on QEMU translates them like the CPU would.
"""
import gdb

from ..x86 import descriptors
from ..x86.sdm import DESC_SIZE, GDT_MAX_ENTRIES, IDT_VECTORS
from . import snapshot, target
from .command import BlCommand


def read_linear(addr, length):
    return bytes(gdb.selected_inferior().read_memory(addr, length))


class GdtCommand(BlCommand):
    """Decode the global descriptor table from memory.
Usage: bl gdt
Decode the GDT that GDTR points at: for every selector its base, limit
(scaled by G), type, DPL and size bits. In long mode system descriptors
(TSS, LDT) are 16 bytes and shown as one entry. Before the first LGDT
(GDTR as the CPU leaves reset) there is no GDT to show."""
    NAME = "gdt"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        st = snapshot.current().state
        base, limit = st.tables["GDT"]
        print("GDTR base 0x%x limit 0x%x" % (base, limit))
        if st.mode.cpu == "real" and descriptors.gdtr_is_reset_value(base, limit):
            print("(GDTR still holds its reset value: no LGDT has run, and the bytes at 0 "
                  "are the real-mode interrupt vector table, not descriptors)")
            return
        if limit < DESC_SIZE - 1:
            print("(empty GDT)")
            return
        data = read_linear(base, min(limit + 1, GDT_MAX_ENTRIES * DESC_SIZE))
        for off, raw, text in descriptors.gdt_entries(data, st.mode.long):
            print("0x%04x  %016x  %s" % (off, int.from_bytes(raw[:8], "little"), text))


class IdtCommand(BlCommand):
    """Decode the interrupt descriptor table from memory.
Usage: bl idt [FIRST [COUNT]]
Decode the IDT that IDTR points at, from vector FIRST (0..255, default 0),
COUNT vectors (1..256; default: all, present gates only). The CPU never uses
more than 256 vectors, whatever IDTR's limit. In real mode this is the
interrupt vector table (IVT) of segment:offset pairs."""
    NAME = "idt"

    def run(self, argv):
        if len(argv) > 2:
            self.usage("too many arguments")
        first = target.parse_int(argv[0], "vector", 0, IDT_VECTORS - 1) if argv else 0
        count = target.parse_int(argv[1], "count", 1, IDT_VECTORS) if len(argv) > 1 else None
        st = snapshot.current().state
        base, limit = st.tables["IDT"]
        real = st.mode.cpu == "real"
        size, total = descriptors.idt_layout(real, st.mode.long, limit)
        last = total if count is None else min(total, first + count)
        kind = "IVT" if real else "IDT"
        print("IDTR base 0x%x limit 0x%x: %s of %d vectors, %d bytes each%s" % (
            base, limit, kind, total, size,
            " (the CPU uses at most %d)" % IDT_VECTORS if (limit + 1) // size > IDT_VECTORS else ""))
        if first >= last:
            print("(vector %d is past the table's last vector, %d)" % (first, total - 1))
            return
        data = read_linear(base + first * size, (last - first) * size)
        shown = 0
        for vec in range(first, last):
            off = (vec - first) * size
            if real:
                seg, ip, lin = descriptors.ivt_entry(data, off)
                print("%3d  %04x:%04x (linear 0x%x)" % (vec, seg, ip, lin))
                shown += 1
                continue
            if not descriptors.gate_present(data, off) and count is None:
                continue
            print("%3d  %s" % (vec, descriptors.gate_text(data, off, st.mode.long)))
            shown += 1
        if not shown:
            print("(no present gates)")
