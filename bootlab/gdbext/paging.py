"""`bl walk` (the page walk of one linear address) and `bl maps` (every
mapping), of the selected CPU, by the core's walker (bootlab.x86.paging)
over physical memory.

`bl maps` reads each level's tables at once: from the guest RAM that make
debug shares with GDB (guestram.py), else through QEMU's monitor (`pmemsave`
of the spans that hold them, to a private temporary file: one round trip
per span instead of one per 2 KiB packet), falling back to gdbstub reads
where that fails.
"""
import bisect
import os

import gdb

from ..x86 import paging
from ..x86.paging import Scheme, coalesce, entry_flags, rights_text, size_text
from . import guestram, phys, snapshot, target
from .command import BlCommand

MERGE_GAP = 128 << 10   # bytes: spans closer than this are saved in one pmemsave
SAVE_MAX = 16 << 20     # bytes saved by one pmemsave at most (bounded memory)
MAPS_MAX_TABLES_DEFAULT = paging.DEFAULT_MAX_TABLES


def scheme(snap=None, cr3=None):
    snap = snap or snapshot.current()
    r = snap.regs
    try:
        return Scheme(snap.mode.paging, r["cr3"] if cr3 is None else cr3, r["cr4"], r["efer"])
    except paging.NotWalkable as e:
        raise gdb.GdbError("bootlab: %s" % e)


class SpanReader:
    """Reads many physical spans with few monitor round trips: spans closer
    than MERGE_GAP are saved together by QEMU's monitor (`pmemsave` into a
    private temporary directory), a round trip costing about as much as
    saving MERGE_GAP more bytes. gdbstub reads where the monitor fails."""

    def __init__(self):
        self.dir = None
        self.monitor_ok = True

    def __enter__(self):
        # /dev/shm when there is one: the saved memory never needs a disk.
        import tempfile     # here: it costs GDB ~3 ms to load, and only bl maps needs it
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.dir = tempfile.mkdtemp(prefix="bootlab-maps-", dir=shm)
        return self

    def __exit__(self, *exc):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def save(self, addr, n):
        """n bytes of physical memory at addr: from the guest RAM make debug
        shares (guestram.py), else saved by the monitor; None when neither can."""
        shared = guestram.read(addr, n)
        if shared is not None:
            return shared
        if not self.monitor_ok:
            return None
        path = os.path.join(self.dir, "%x" % addr)
        try:
            target.monitor('pmemsave 0x%x %d "%s"' % (addr, n, path))
            with open(path, "rb") as f:
                data = f.read()
            os.unlink(path)
        except (gdb.GdbError, OSError):
            data = None
        if data is None or len(data) != n:
            self.monitor_ok, data = False, None
        return data

    def read_many(self, spans):
        merged = paging.merge_spans(spans, MERGE_GAP, SAVE_MAX)
        saved = {start: self.save(start, end - start) for start, end in merged}
        starts = [start for start, _ in merged]
        out = []
        for addr, n in spans:
            start = starts[bisect.bisect_right(starts, addr) - 1]
            data = saved[start]
            out.append(phys.read(addr, n) if data is None
                       else data[addr - start:addr - start + n])
        return out

    def __call__(self, addr, n):
        return self.read_many([(addr, n)])[0]


def walk(vaddr, cr3=None):
    sch = scheme(cr3=cr3)
    try:
        with phys.physical():
            return sch, paging.walk(sch, vaddr, phys.read)
    except paging.NotWalkable as e:
        raise gdb.GdbError("bootlab: %s" % e)


class WalkCommand(BlCommand):
    """Walk the page tables for a linear address.
Usage: bl walk ADDR [CR3=VALUE]
Translate the linear address ADDR (a GDB expression) the way the CPU's page
walker does in the current paging mode: each level's entry address, value and
flags, then the physical address or the level where the walk stops.
CR3=VALUE walks another address space's tables (another process's, say)."""
    NAME = "walk"
    COMPLETE = gdb.COMPLETE_EXPRESSION

    def run(self, argv):
        cr3 = None
        words = []
        for a in argv:
            if a.lower().startswith("cr3="):
                cr3 = target.parse_int(a[4:], "CR3", 0, target.ADDRESS_MAX)
            else:
                words.append(a)
        if len(words) != 1:
            self.usage("expected one address")
        vaddr = target.parse_int(words[0])
        sch, w = walk(vaddr, cr3)
        print("linear 0x%x, %s paging, top table at 0x%x" % (vaddr, sch.name, sch.top))
        width = 8 if sch.levels[0].entry_size == 4 else 16
        for level, idx, addr, entry in w.steps:
            print("  %-5s[%3d] at 0x%08x = 0x%0*x  %s" % (
                level.name, idx, addr, width, entry, entry_flags(entry, sch.nx) or "-"))
        if not w.mapped:
            print("not mapped: %s not present (an access would raise #PF)" % w.stopped_at.name)
            return
        print("physical 0x%x (%s page, %s)" % (w.phys, size_text(w.size),
                                               rights_text(w.writable, w.user, w.executable)))


def all_mappings(sch, max_tables, within=None):
    with SpanReader() as reader:
        with phys.physical():
            return paging.mappings(sch, reader, max_tables=max_tables, within=within,
                                   read_many=reader.read_many)


RIGHTS = {"w": 0, "u": 1, "x": 2}


class MapsCommand(BlCommand):
    """List every mapped linear range with its rights.
Usage: bl maps [LOW HIGH] [w|-w|u|-u|x|-x ...] [--max-tables N]
Every mapped range of the current page tables, coalesced: linear range,
physical start, size and rights (r, w, x after NX/XD, user/supervisor).
LOW HIGH: only what overlaps that linear range. A rights word keeps only the
ranges that are writable (w), user-accessible (u) or executable (x), or not
(-w, -u, -x). At most N page tables are read (default 65536); past that it
says so and shows what it found."""
    NAME = "maps"

    def run(self, argv):
        max_tables = MAPS_MAX_TABLES_DEFAULT
        want, bounds, words = {}, [], list(argv)
        while words:
            a = words.pop(0)
            if a == "--max-tables":
                if not words:
                    self.usage("--max-tables needs a number")
                max_tables = target.parse_int(words.pop(0), "table count", 1, 1 << 24)
            elif a.lstrip("-") in RIGHTS and len(a) <= 2:
                want[RIGHTS[a.lstrip("-")]] = not a.startswith("-")
            else:
                bounds.append(a)
        if len(bounds) not in (0, 2):
            self.usage("give both LOW and HIGH, or neither")
        within = None
        if bounds:
            lo, hi = (target.parse_int(b) for b in bounds)
            if hi < lo:
                self.usage("HIGH is below LOW")
            within = (lo, hi)
        sch = scheme()
        truncated = None
        try:
            found = all_mappings(sch, max_tables, within)
        except paging.TooManyTables as e:
            found, truncated = e.found, e
        ranges = [r for r in coalesce(found)
                  if all(r[3][i] == v for i, v in want.items())]
        w = 8 if sch.va_bits == 32 else 16
        print("%s paging, top table at 0x%x%s" % (sch.name, sch.top,
                                                   "" if sch.nx else " (EFER.NXE=0: no NX)"))
        lines = ["0x%0*x-0x%0*x -> 0x%0*x  %8s  %s" % (
            w, va, w, va + size - 1, w, pa, size_text(size), rights_text(wr, us, ex))
            for va, pa, size, (wr, us, ex) in ranges]
        print("\n".join(lines)) if lines else print("(nothing mapped%s)" % (" there" if within else ""))
        if truncated:
            print("bootlab: stopped after %d page tables (--max-tables N reads more)" % truncated.limit)
