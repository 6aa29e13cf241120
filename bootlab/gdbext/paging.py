"""`bl walk` (the page walk of one linear address) and `bl maps` (every
mapping), of the selected CPU, by the core's walker (bootlab.x86.paging)
over physical memory.

Physical reads for `bl maps` come in 1 MiB chunks through QEMU's monitor
(`pmemsave` to a private temporary file: one round trip per chunk instead of
one per 2 KiB packet), falling back to gdbstub reads where that fails.
"""
import os
import tempfile

import gdb

from ..x86 import paging
from ..x86.paging import Scheme, coalesce, entry_flags, rights_text, size_text
from . import phys, snapshot, target
from .command import BlCommand

CHUNK = 1 << 20
MAPS_MAX_TABLES_DEFAULT = paging.DEFAULT_MAX_TABLES


def scheme(snap=None, cr3=None):
    snap = snap or snapshot.current()
    r = snap.regs
    try:
        return Scheme(snap.mode.paging, r["cr3"] if cr3 is None else cr3, r["cr4"], r["efer"])
    except paging.NotWalkable as e:
        raise gdb.GdbError("bootlab: %s" % e)


class ChunkReader:
    """read(phys, n) from 1 MiB chunks saved by QEMU's monitor (pmemsave)
    into a private temporary directory; gdbstub reads when that fails."""

    def __init__(self):
        self.chunks = {}
        self.dir = None
        self.monitor_ok = True

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="bootlab-maps-")
        return self

    def __exit__(self, *exc):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def chunk(self, base):
        if base not in self.chunks:
            data = None
            if self.monitor_ok:
                path = os.path.join(self.dir, "%x" % base)
                try:
                    target.monitor('pmemsave 0x%x %d "%s"' % (base, CHUNK, path))
                    with open(path, "rb") as f:
                        data = f.read()
                    os.unlink(path)
                except (gdb.GdbError, OSError):
                    data = None
                if data is None or len(data) != CHUNK:
                    self.monitor_ok, data = False, None
            self.chunks[base] = data
        return self.chunks[base]

    def __call__(self, addr, n):
        base = addr & ~(CHUNK - 1)
        data = self.chunk(base)
        if data is None or addr + n > base + CHUNK:
            return phys.read(addr, n)
        return data[addr - base:addr - base + n]


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
    with ChunkReader() as reader:
        with phys.physical():
            return paging.mappings(sch, reader, max_tables=max_tables, within=within)


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
