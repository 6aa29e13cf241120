"""Page-table walks and the map of all mappings, over a read(phys, n) callback.

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
import array
import sys

from .sdm import (PTE_P, PTE_RW, PTE_US, PTE_PS, PTE_XD, PTE_BITS, PTE_ADDR_MASK,
                  PTE32_ADDR_MASK, PDE32_4M_HIGH_SHIFT, CR3_PAE_PDPT_MASK, CR4_PSE,
                  EFER_NXE)

# A page table is a plain array of little-endian words: array() decodes a
# whole table at C speed, where a per-entry int.from_bytes loop would not.
_WORD = {4: "I", 8: "Q"}
for _size, _code in list(_WORD.items()):
    assert array.array(_code).itemsize == _size
DEFAULT_MAX_TABLES = 65536   # ~256 MiB of tables: far more than a large guest has


class NotWalkable(ValueError):
    """Paging is off, or an address the paging mode cannot translate."""


class TooManyTables(RuntimeError):
    def __init__(self, limit, found):
        super().__init__("more than %d page tables (raise the bound: bl maps --max-tables N)"
                         % limit)
        self.limit, self.found = limit, found


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
    """The paging structures of one paging mode, from CR3, CR4 and EFER."""

    def __init__(self, paging, cr3, cr4, efer):
        self.name = paging
        self.nx = bool(efer & EFER_NXE)
        if paging == "off":
            raise NotWalkable("paging is off (CR0.PG=0): linear addresses are physical "
                              "addresses, there is nothing to walk")
        if paging == "32-bit":
            self.top = cr3 & PTE32_ADDR_MASK
            self.levels = [Level("PDE", 22, 10, 4, bool(cr4 & CR4_PSE)),
                           Level("PTE", 12, 10, 4, False)]
            self.va_bits = 32
        elif paging == "PAE":
            self.top = cr3 & CR3_PAE_PDPT_MASK
            self.levels = [Level("PDPTE", 30, 2, 8, False, rights=False),
                           Level("PDE", 21, 9, 8, True),
                           Level("PTE", 12, 9, 8, False)]
            self.va_bits = 32
        else:
            self.top = cr3 & PTE_ADDR_MASK
            self.levels = [Level("PML4E", 39, 9, 8, False), Level("PDPTE", 30, 9, 8, True),
                           Level("PDE", 21, 9, 8, True), Level("PTE", 12, 9, 8, False)]
            if paging == "5-level":
                self.levels.insert(0, Level("PML5E", 48, 9, 8, False))
            self.va_bits = self.levels[0].shift + 9

    def check_address(self, vaddr):
        if self.va_bits == 32:
            if vaddr >> 32:
                raise NotWalkable("0x%x is wider than 32 bits (%s paging)" % (vaddr, self.name))
            return
        top = vaddr >> (self.va_bits - 1)
        if top not in (0, (1 << (65 - self.va_bits)) - 1):
            raise NotWalkable("0x%x is not canonical: bits 63:%d must all equal bit %d "
                              "(SDM 3.3.7.1)" % (vaddr, self.va_bits - 1, self.va_bits - 1))

    def canonical(self, vaddr):
        """Sign-extend an address built from table indexes (bits 63:va_bits)."""
        if self.va_bits < 64 and self.va_bits != 32 and vaddr >> (self.va_bits - 1) & 1:
            return vaddr | ((1 << 64) - (1 << self.va_bits))
        return vaddr

    def next_table(self, entry):
        return entry & (PTE32_ADDR_MASK if self.levels[0].entry_size == 4 else PTE_ADDR_MASK)

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
    """'P RW PS' for the set bits of a paging entry (XD only with EFER.NXE)."""
    return " ".join(n for n, bit in PTE_BITS if entry & bit and (n != "XD" or nx))


def rights_text(writable, user, executable):
    return "r%s%s %s" % ("w" if writable else "-", "x" if executable else "-",
                         "user" if user else "supervisor")


class Walk:
    """The result of walking one address: steps (level, index, entry
    address, entry) and, when mapped, the physical address, page size and
    the rights combined over the levels."""

    def __init__(self, scheme, vaddr):
        self.scheme, self.vaddr = scheme, vaddr
        self.steps = []
        self.phys = self.size = None
        self.writable = self.user = self.executable = True

    @property
    def mapped(self):
        return self.phys is not None

    @property
    def stopped_at(self):
        """The level whose entry was not present, or None when mapped."""
        return None if self.mapped else self.steps[-1][0]


def walk(scheme, vaddr, read):
    """Walk vaddr as the CPU does; read(phys, n) returns n bytes."""
    scheme.check_address(vaddr)
    w = Walk(scheme, vaddr)
    table = scheme.top
    for level in scheme.levels:
        idx = level.index(vaddr)
        addr = table + idx * level.entry_size
        entry = int.from_bytes(read(addr, level.entry_size), "little")
        w.steps.append((level, idx, addr, entry))
        if not entry & PTE_P:
            return w
        if level.rights:
            w.writable &= bool(entry & PTE_RW)
            w.user &= bool(entry & PTE_US)
        if scheme.nx and entry & PTE_XD:
            w.executable = False
        if level is scheme.levels[-1] or (level.large and entry & PTE_PS):
            w.size = 1 << level.shift
            w.phys = scheme.frame(level, entry) | (vaddr & (w.size - 1))
            return w
        table = scheme.next_table(entry)
    return w


def table_words(data, entry_size):
    words = array.array(_WORD[entry_size])
    words.frombytes(data)
    if sys.byteorder != "little":
        words.byteswap()
    return words


def regular(words, span):
    """True when entry i is entry 0 plus i pages: every page present, the
    frames contiguous and the flags alike (compared at C speed)."""
    first = words[0]
    if not first & PTE_P:
        return False
    try:
        expected = array.array(words.typecode, range(first, first + span * len(words), span))
    except OverflowError:     # frames that would run past the top of the word
        return False
    return expected == words


def mappings(scheme, read, max_tables=DEFAULT_MAX_TABLES, within=None):
    """Every present leaf mapping as (virt, phys, size, (w, u, x)) in address
    order. within=(lo, hi) visits only the tables that can map part of
    [lo, hi]. Raises TooManyTables past max_tables table reads."""
    out = []
    count = [0]
    lo, hi = within if within else (0, (1 << 64) - 1)
    last_level = len(scheme.levels) - 1

    def visit(table, depth, vbase, w, u, x):
        count[0] += 1
        if count[0] > max_tables:
            raise TooManyTables(max_tables, out)
        level = scheme.levels[depth]
        span = 1 << level.shift
        words = table_words(read(table, (1 << level.bits) * level.entry_size), level.entry_size)
        if depth == last_level and regular(words, span):
            # A whole table of present, physically contiguous pages with the
            # same flags (common: a kernel's direct map): one run, built in C.
            va = scheme.canonical(vbase)
            if not (va + span * len(words) - 1 < lo or va > hi):
                entry = words[0]
                rights = (w and bool(entry & PTE_RW), u and bool(entry & PTE_US),
                          x and not (scheme.nx and entry & PTE_XD))
                out.append((va, scheme.frame(level, entry), span * len(words), rights))
            return
        for idx, entry in enumerate(words):
            if not entry & PTE_P:
                continue
            va = scheme.canonical(vbase | (idx << level.shift))
            if va + span - 1 < lo or va > hi:
                continue
            if level.rights:
                rights = (w and bool(entry & PTE_RW), u and bool(entry & PTE_US),
                          x and not (scheme.nx and entry & PTE_XD))
            else:
                rights = (w, u, x and not (scheme.nx and entry & PTE_XD))
            if depth == last_level or (level.large and entry & PTE_PS):
                out.append((va, scheme.frame(level, entry), span, rights))
            else:
                visit(scheme.next_table(entry), depth + 1, vbase | (idx << level.shift), *rights)

    visit(scheme.top, 0, 0, True, True, True)
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


def size_text(size):
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= unit and size % unit == 0:
            return "%d %s" % (size // unit, name)
    return "%d B" % size


def where(maps, phys):
    """Every virtual address that maps the physical address phys, from
    mappings()'s list: (virtual address, (virt, phys, size, rights) of the
    leaf that maps it), in virtual-address order. A physical page is often
    mapped more than once: identity and higher half while a kernel boots,
    its direct map and its text mapping later (SDM 4.10.2: aliases are
    allowed; each has its own rights)."""
    return [(va + phys - pa, (va, pa, size, rights))
            for va, pa, size, rights in maps if pa <= phys < pa + size]
