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
                  EFER_NXE, PAGE_SIZE)

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


_RAMPS = {}      # (entries, entry bits, span) -> (sum 2^(bits*i), sum span*i*2^(bits*i))


def regular(table, entry_size, span):
    """entry 0 when entry i of the table (its bytes) is entry 0 plus i pages:
    every page present, the frames contiguous and the flags alike; else None.
    Tested at C speed on the table as one big number:
    sum (first + i*span) << (bits*i) = first*ONES + RAMP, with ONES and RAMP
    fixed for a table's shape (no carries: every entry fits)."""
    n, bits = len(table) // entry_size, entry_size * 8
    first = int.from_bytes(table[:entry_size], "little")
    if not first & PTE_P or first + span * (n - 1) >> bits:
        return None
    key = (n, bits, span)
    if key not in _RAMPS:
        _RAMPS[key] = (sum(1 << (bits * i) for i in range(n)),
                       sum(span * i << (bits * i) for i in range(n)))
    ones, ramp = _RAMPS[key]
    return first if int.from_bytes(table, "little") == first * ones + ramp else None


MAX_RUN_TABLES = 4096   # tables read in one go (16 MiB): few reads, bounded memory


def runs(tables, size, vspan):
    """Group (phys, vbase, rights) tables, in linear order, into runs that
    lie back to back both physically and linearly with the same inherited
    rights: each run is one read."""
    run = []
    for t in tables:
        if run and (t[0] != run[-1][0] + size or t[1] != run[-1][1] + vspan
                    or t[2] != run[-1][2] or len(run) == MAX_RUN_TABLES):
            yield run
            run = []
        run.append(t)
    if run:
        yield run


TABLE_BYTES = PAGE_SIZE   # every paging structure but PAE's PDPT is one 4 KiB page


def combined(level, nx, entry, inherited):
    """(w, u, x) after this level's entry: SDM 4.6, every level must allow it."""
    w, u, x = inherited
    return (w and (not level.rights or bool(entry & PTE_RW)),
            u and (not level.rights or bool(entry & PTE_US)),
            x and not (nx and entry & PTE_XD))


def indexes_within(vbase, span, entries, lo, hi):
    """First and last index of a table at vbase whose entries overlap [lo, hi]
    (first > last: none does)."""
    first = (lo - vbase) // span if lo > vbase else 0
    return first, min(entries - 1, (hi - vbase) // span) if hi >= vbase else -1


def mappings(scheme, read, max_tables=DEFAULT_MAX_TABLES, within=None, read_many=None):
    """Every present leaf mapping as (virt, phys, size, (w, u, x)) in address
    order. Level by level: the tables of one level that lie back to back in
    physical memory are one read(phys, n); read_many([(phys, n), ...]), when
    given, gets all of a level's reads at once (to plan fewer, larger ones).
    within=(lo, hi) visits only the tables that can map part of [lo, hi].
    Raises TooManyTables past max_tables tables, with what it found so far."""
    read_many = read_many or (lambda spans: [read(a, n) for a, n in spans])
    out = []
    lo, hi = within if within else (0, (1 << 64) - 1)
    last_level = len(scheme.levels) - 1
    tables, count = [(scheme.top, 0, (True, True, True))], 0
    for depth, level in enumerate(scheme.levels):
        if not tables:
            break
        if count + len(tables) > max_tables:
            tables = tables[:max_tables - count]
            count = max_tables + 1
        else:
            count += len(tables)
        entries = 1 << level.bits
        size, span = entries * level.entry_size, 1 << level.shift
        leaf_level = depth == last_level
        below = []
        level_runs = list(runs(tables, size, span * entries))
        blocks = read_many([(run[0][0], size * len(run)) for run in level_runs])
        for run, data in zip(level_runs, blocks):
            for k, (_, vbase, inherited) in enumerate(run):
                table = data[k * size:(k + 1) * size]
                # Whole tables at once where they are regular (common: a
                # kernel's direct map, and the tables that hold it).
                first = regular(table, level.entry_size, span)
                if first is not None and (leaf_level or level.large and first & PTE_PS):
                    # present, physically contiguous pages with the same flags
                    i0, i1 = indexes_within(vbase, span, entries, lo, hi)
                    if i0 <= i1:
                        out.append((vbase + i0 * span, scheme.frame(level, first) + i0 * span,
                                    (i1 - i0 + 1) * span,
                                    combined(level, scheme.nx, first, inherited)))
                    continue
                first = None if leaf_level else regular(table, level.entry_size, TABLE_BYTES)
                if first is not None and not (level.large and first & PTE_PS):
                    # the next level's tables, back to back with the same flags
                    i0, i1 = indexes_within(vbase, span, entries, lo, hi)
                    base, rights = scheme.next_table(first), combined(level, scheme.nx, first,
                                                                      inherited)
                    below += [(base + i * TABLE_BYTES, scheme.canonical(vbase | i << level.shift),
                               rights) for i in range(i0, i1 + 1)]
                    continue
                for idx, entry in enumerate(table_words(table, level.entry_size)):
                    if not entry & PTE_P:
                        continue
                    va = scheme.canonical(vbase | (idx << level.shift))
                    if va + span - 1 < lo or va > hi:
                        continue
                    rights = combined(level, scheme.nx, entry, inherited)
                    if leaf_level or (level.large and entry & PTE_PS):
                        out.append((va, scheme.frame(level, entry), span, rights))
                    else:
                        below.append((scheme.next_table(entry), va, rights))
        if count > max_tables:
            out.sort()
            raise TooManyTables(max_tables, out)
        tables = below
    out.sort()
    return out


def merge_spans(spans, gap, limit):
    """[start, end] pieces covering every (addr, n) span, in address order:
    spans less than gap bytes apart share a piece (when a read's round trip
    costs more than reading the gap), no piece longer than limit unless one
    span alone is."""
    merged = []
    for addr, n in sorted(set(spans)):
        if merged and addr - merged[-1][1] <= gap and addr + n - merged[-1][0] <= limit:
            merged[-1][1] = max(merged[-1][1], addr + n)
        else:
            merged.append([addr, addr + n])
    return merged


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
