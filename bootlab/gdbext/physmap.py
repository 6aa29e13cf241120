"""`bl where PHYS` (every linear address that maps a physical one) and
`bl pbreak PHYS` (break wherever that physical code runs), of the selected
CPU's current address space, over the core's map of all mappings
(bootlab.x86.paging.mappings and where).

QEMU 7.2's gdbstub has no physical breakpoints: its Z0/Z1 packets name a
virtual address, matched against the linear address of each instruction it
translates, and the Qqemu.PhyMemMode packet switches memory reads and
writes only. So a physical breakpoint becomes one GDB breakpoint per
executable linear alias of that address under the current CR3; another
address space (another CR3), or a mapping made later, is not covered.
"""
import gdb

from ..x86 import paging
from ..x86.paging import rights_text, size_text
from . import phys, snapshot, target
from .command import BlCommand
from .paging import MAPS_MAX_TABLES_DEFAULT, all_mappings, scheme

WHERE_MAX_DEFAULT = 64
PBREAK_MAX = 16           # more aliases than that is a mistake, not a breakpoint


def aliases(paddr, max_tables):
    """(scheme or None, [(linear, leaf)]) for the physical address paddr:
    with paging off the one linear address that equals it."""
    snap = snapshot.current()
    if snap.mode.paging == "off":
        return None, [(paddr, None)]
    sch = scheme(snap)
    try:
        found = all_mappings(sch, max_tables)
    except paging.TooManyTables as e:
        raise gdb.GdbError("bootlab: more than %d page tables: give --max-tables N" % e.limit)
    return sch, paging.where(found, paddr)


def _options(cmd, argv, default_max):
    words, limit, max_tables = [], default_max, MAPS_MAX_TABLES_DEFAULT
    argv = list(argv)
    while argv:
        a = argv.pop(0)
        if a in ("--max", "--max-tables"):
            if not argv:
                cmd.usage("%s needs a number" % a)
            if a == "--max":
                limit = target.parse_int(argv.pop(0), "count", 1, 1 << 20)
            else:
                max_tables = target.parse_int(argv.pop(0), "table count", 1, 1 << 24)
        else:
            words.append(a)
    if len(words) != 1:
        cmd.usage("expected one physical address")
    return target.parse_int(words[0], "physical address", 0, phys.PHYS_MAX), limit, max_tables


class WhereCommand(BlCommand):
    """List every linear address that maps a physical address.
Usage: bl where PHYS [--max N] [--max-tables N]
Walk all of the current page tables (those CR3 points at, as bl maps does)
and list each linear address that translates to the physical address PHYS,
with the page that maps it and its rights: a page mapped twice (identity
and higher half, a kernel's direct map and its text) shows twice. At most N
addresses are listed (default 64), at most N page tables read (default
65536). With paging off the answer is PHYS itself."""
    NAME = "where"
    COMPLETE = gdb.COMPLETE_EXPRESSION

    def run(self, argv):
        paddr, limit, max_tables = _options(self, argv, WHERE_MAX_DEFAULT)
        sch, found = aliases(paddr, max_tables)
        if sch is None:
            print("paging is off: linear 0x%x is physical 0x%x" % (paddr, paddr))
            return
        print("physical 0x%x under %s paging, top table at 0x%x: %d linear address%s" % (
            paddr, sch.name, sch.top, len(found), "" if len(found) == 1 else "es"))
        w = 8 if sch.va_bits == 32 else 16
        for lin, (va, pa, size, (wr, us, ex)) in found[:limit]:
            print("  0x%0*x  in the %s page 0x%0*x -> 0x%x  %s" % (
                w, lin, size_text(size), w, va, pa, rights_text(wr, us, ex)))
        if not found:
            print("  (not mapped in this address space)")
        if len(found) > limit:
            print("bootlab: %d more not shown (--max N)" % (len(found) - limit))


class PbreakCommand(BlCommand):
    """Break where code at a physical address runs, in this address space.
Usage: bl pbreak PHYS [--max-tables N]
QEMU's gdbstub has no physical breakpoints (its breakpoints match linear
addresses), so this sets one GDB breakpoint (break *ADDR) at each
executable linear address that maps PHYS under the current page tables,
as bl where finds them (at most 16). They belong to this address space:
code reached through a mapping made later, or under another CR3, is not
caught; run bl pbreak again after the tables change. With paging off it is
one breakpoint at PHYS."""
    NAME = "pbreak"
    COMPLETE = gdb.COMPLETE_EXPRESSION

    def run(self, argv):
        paddr, _, max_tables = _options(self, argv, PBREAK_MAX)
        sch, found = aliases(paddr, max_tables)
        runnable = [lin for lin, leaf in found if leaf is None or leaf[3][2]]
        skipped = len(found) - len(runnable)
        if not runnable:
            raise gdb.GdbError("bl pbreak: physical 0x%x has no executable linear alias in "
                               "this address space%s" % (
                                   paddr, " (%d not executable: NX)" % skipped if skipped else ""))
        if len(runnable) > PBREAK_MAX:
            raise gdb.GdbError("bl pbreak: physical 0x%x has %d executable aliases, more than "
                               "%d; break on the ones you mean (bl where 0x%x)"
                               % (paddr, len(runnable), PBREAK_MAX, paddr))
        where = "paging off" if sch is None else "CR3 0x%x" % snapshot.current().regs["cr3"]
        for lin in runnable:
            gdb.execute("break *0x%x" % lin)
        print("bootlab: physical 0x%x: %d breakpoint%s, for this address space only (%s)%s" % (
            paddr, len(runnable), "" if len(runnable) == 1 else "s", where,
            "; %d alias%s not executable left out" % (skipped, "" if skipped == 1 else "es")
            if skipped else ""))
