"""Page-table walks (`bl walk`) and the map of all mappings (`bl maps`).

Tables are read from physical memory, as the CPU's page walker reads them.
Formats, SDM Vol. 3A chapter 4:
  32-bit paging (4.3):  CR3 -> PD (1024 x 4 B) -> PT; PDE.PS = 4 MiB page if CR4.PSE
  PAE paging    (4.4):  CR3 -> PDPT (4 x 8 B) -> PD (512 x 8 B) -> PT; PDE.PS = 2 MiB
  4-level       (4.5):  CR3 -> PML4 -> PDPT (PS = 1 GiB) -> PD (PS = 2 MiB) -> PT
  5-level       (4.5):  one more level, PML5, above PML4
Access rights combine over the levels (4.6): writable only if every level
has R/W, user only if every level has U/S, and, with EFER.NXE, not
executable if any level has XD.
"""
import gdb

from . import mode, phys, state
from .command import BlCommand
from .sdm import (PTE_P, PTE_RW, PTE_US, PTE_PS, PTE_XD, PTE_BITS, PTE_ADDR_MASK,
                  PTE32_ADDR_MASK, PDE32_4M_HIGH_SHIFT, CR3_PAE_PDPT_MASK, CR4_PSE,
                  EFER_NXE)

MAX_TABLES = 4096   # bound on tables `bl maps` reads (each read ~1-3 ms)


class Level:
    def __init__(self, name, shift, bits, entry_size, large, rights=True):
        self.name = name              # entry name, e.g. "PDE"
        self.shift = shift            # lowest linear-address bit it indexes
        self.bits = bits              # number of index bits
        self.entry_size = entry_size  # 4 or 8 bytes
        self.large = large            # may map a page with PS=1
        self.rights = rights          # has R/W and U/S bits (not PAE PDPTEs)

    def index(self, vaddr):
        return (vaddr >> self.shift) & ((1 << self.bits) - 1)


class Scheme:
    """The paging structures of one paging mode, from the current registers."""

    def __init__(self, m):
        cr3, cr4, efer = state.reg("cr3"), state.reg("cr4"), state.reg("efer")
        self.name = m.paging
        self.nx = bool(efer & EFER_NXE)
        if m.paging == "off":
            raise gdb.GdbError("bootlab: paging is off (CR0.PG=0): linear addresses "
                               "are physical addresses, there is nothing to walk")
        if m.paging == "32-bit":
            self.top = cr3 & PTE32_ADDR_MASK
            self.levels = [Level("PDE", 22, 10, 4, bool(cr4 & CR4_PSE)),
                           Level("PTE", 12, 10, 4, False)]
            self.va_bits = 32
        elif m.paging == "PAE":
            self.top = cr3 & CR3_PAE_PDPT_MASK
            self.levels = [Level("PDPTE", 30, 2, 8, False, rights=False),
                           Level("PDE", 21, 9, 8, True),
                           Level("PTE", 12, 9, 8, False)]
            self.va_bits = 32
        else:
            self.top = cr3 & PTE_ADDR_MASK
            self.levels = [Level("PML4E", 39, 9, 8, False), Level("PDPTE", 30, 9, 8, True),
                           Level("PDE", 21, 9, 8, True), Level("PTE", 12, 9, 8, False)]
            if m.paging == "5-level":
                self.levels.insert(0, Level("PML5E", 48, 9, 8, False))
            self.va_bits = self.levels[0].shift + 9

    def check_address(self, vaddr):
        if self.va_bits == 32:
            if vaddr >> 32:
                raise gdb.GdbError("bootlab: 0x%x is wider than 32 bits (%s paging)"
                                   % (vaddr, self.name))
            return
        top = vaddr >> (self.va_bits - 1)
        if top not in (0, (1 << (65 - self.va_bits)) - 1):
            raise gdb.GdbError("bootlab: 0x%x is not canonical: bits 63:%d must all "
                               "equal bit %d (SDM 3.3.7.1)" % (vaddr, self.va_bits - 1,
                                                               self.va_bits - 1))

    def canonical(self, vaddr):
        if self.va_bits < 64 and self.va_bits != 32 and vaddr >> (self.va_bits - 1) & 1:
            return vaddr | ((1 << 64) - (1 << self.va_bits))
        return vaddr

    def next_table(self, entry):
        return entry & (PTE32_ADDR_MASK if self.va_bits == 32 and self.levels[0].entry_size == 4
                        else PTE_ADDR_MASK)

    def frame(self, level, entry):
        """Physical base of the page a leaf entry maps."""
        size = 1 << level.shift
        if level.entry_size == 4:
            base = entry & PTE32_ADDR_MASK & ~(size - 1)
            if level.shift == 22:   # PSE-36: PA bits 39:32 sit in PDE bits 20:13
                base |= ((entry >> PDE32_4M_HIGH_SHIFT) & 0xff) << 32
            return base
        return entry & PTE_ADDR_MASK & ~(size - 1)


def entry_flags(entry, nx):
    names = [n for n, bit in PTE_BITS if entry & bit and (n != "XD" or nx)]
    return " ".join(names)


def rights_text(writable, user, executable):
    return "r%s%s %s" % ("w" if writable else "-", "x" if executable else "-",
                         "user" if user else "supervisor")


def walk(vaddr):
    """Walk vaddr; returns (scheme, steps, result) where steps are
    (level, index, entry address, entry) and result is (phys, page size,
    writable, user, executable) or None when not mapped."""
    sch = Scheme(mode.current())
    sch.check_address(vaddr)
    table = sch.top
    steps = []
    writable = user = executable = True
    with phys.physical():
        for level in sch.levels:
            idx = level.index(vaddr)
            addr = table + idx * level.entry_size
            entry = int.from_bytes(phys.read(addr, level.entry_size), "little")
            steps.append((level, idx, addr, entry))
            if not entry & PTE_P:
                return sch, steps, None
            if level.rights:
                writable &= bool(entry & PTE_RW)
                user &= bool(entry & PTE_US)
            if sch.nx and entry & PTE_XD:
                executable = False
            if level is sch.levels[-1] or (level.large and entry & PTE_PS):
                size = 1 << level.shift
                pa = sch.frame(level, entry) | (vaddr & (size - 1))
                return sch, steps, (pa, size, writable, user, executable)
            table = sch.next_table(entry)
    return sch, steps, None


def size_text(size):
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= unit and size % unit == 0:
            return "%d %s" % (size // unit, name)
    return "%d B" % size


class WalkCommand(BlCommand):
    """Walk the page tables for a linear address.
Usage: bl walk ADDR
Translate the linear address ADDR (a GDB expression) the way the CPU's page
walker does in the current paging mode: each level's entry address, value and
flags, then the physical address or the level where the walk stops."""
    NAME = "walk"
    COMPLETE = gdb.COMPLETE_EXPRESSION

    def run(self, argv):
        if len(argv) != 1:
            self.usage("expected one address")
        vaddr = state.parse_int(argv[0])
        sch, steps, result = walk(vaddr)
        print("linear 0x%x, %s paging, top table at 0x%x" % (vaddr, sch.name, sch.top))
        width = 8 if sch.levels[0].entry_size == 4 else 16
        for level, idx, addr, entry in steps:
            print("  %-5s[%3d] at 0x%08x = 0x%0*x  %s" % (
                level.name, idx, addr, width, entry, entry_flags(entry, sch.nx) or "-"))
        if result is None:
            level = steps[-1][0]
            print("not mapped: %s not present (an access would raise #PF)" % level.name)
            return
        pa, size, w, u, x = result
        print("physical 0x%x (%s page, %s)" % (pa, size_text(size), rights_text(w, u, x)))


def mappings(sch):
    """All present leaf mappings as (virt, phys, size, rights) in address order."""
    out = []
    budget = [MAX_TABLES]

    def visit(table, depth, vbase, w, u, x):
        level = sch.levels[depth]
        if budget[0] <= 0:
            raise gdb.GdbError("bootlab: more than %d page tables; stopping" % MAX_TABLES)
        budget[0] -= 1
        count = 1 << level.bits
        data = phys.read(table, count * level.entry_size)
        for idx in range(count):
            entry = int.from_bytes(data[idx * level.entry_size:(idx + 1) * level.entry_size],
                                   "little")
            if not entry & PTE_P:
                continue
            va = vbase | (idx << level.shift)
            ew, eu = (bool(entry & PTE_RW), bool(entry & PTE_US)) if level.rights else (True, True)
            ex = not (sch.nx and entry & PTE_XD)
            rights = (w and ew, u and eu, x and ex)
            if depth == len(sch.levels) - 1 or (level.large and entry & PTE_PS):
                out.append((sch.canonical(va), sch.frame(level, entry), 1 << level.shift, rights))
            else:
                visit(sch.next_table(entry), depth + 1, va, *rights)

    with phys.physical():
        visit(sch.top, 0, 0, True, True, True)
    return out


def coalesce(maps):
    """Merge neighbours that are contiguous virtually and physically with the
    same rights."""
    merged = []
    for va, pa, size, rights in maps:
        if merged:
            mva, mpa, msize, mrights = merged[-1]
            if mva + msize == va and mpa + msize == pa and mrights == rights:
                merged[-1] = (mva, mpa, msize + size, rights)
                continue
        merged.append((va, pa, size, rights))
    return merged


class MapsCommand(BlCommand):
    """List every mapped linear range with its rights.
Usage: bl maps
Every mapped range of the current page tables, coalesced: linear range,
physical start, size and rights (r, w, x after NX/XD, user/supervisor)."""
    NAME = "maps"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        sch = Scheme(mode.current())
        ranges = coalesce(mappings(sch))
        w = 8 if sch.va_bits == 32 else 16
        print("%s paging, top table at 0x%x%s" % (sch.name, sch.top,
                                                   "" if sch.nx else " (EFER.NXE=0: no NX)"))
        for va, pa, size, (wr, us, ex) in ranges:
            print("0x%0*x-0x%0*x -> 0x%0*x  %8s  %s" % (
                w, va, w, va + size - 1, w, pa, size_text(size), rights_text(wr, us, ex)))
        if not ranges:
            print("(nothing mapped)")
