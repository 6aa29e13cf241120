"""Stepping with the extension: the monitor is asked only when an
instruction could have changed what it shows; `x/i` follows bootlab's own
raw steps; `rep` string instructions run as one step; `bl until` stops at
each kind of event. On the lab's image and on test guests (tests/guests)."""
import re

import pytest

from bootlab import project
from bootlab.qemu import cmdline
from guests import driver

SYMBOLS = cmdline.symbol_commands(project.elf_paths())
READS = "python import bootlab.gdbext.snapshot as s; print('READS %d' % s.monitor_reads[0])"


def reads(t, nth):
    return int(re.search(r"READS (\d+)", t.out(READS, nth)).group(1))


def test_stepi_in_64bit_code_does_not_ask_the_monitor(image):
    """Ten stepi with the context display on, in kmain: the CS cache stays
    known (no far transfer, no CR write), so QEMU's monitor is not asked."""
    t = driver.run_gdb(image, ["break kmain", "continue", "bl context", READS]
                       + ["stepi"] * 10 + [READS, "bl mode"], setup=SYMBOLS)
    assert reads(t, 1) == reads(t, 0), t
    assert "mode:   64-bit" in t.out("bl mode"), t
    assert all("-- bootlab: 64-bit, paging 4-level" in t.out("stepi", i) for i in range(10)), t


def test_a_far_jump_by_stepi_is_seen(image):
    """stepi over pg_set's far jump: the monitor is asked and the mode line
    says 64-bit, as QEMU's own dump does."""
    t = driver.run_gdb(image, ["break pg_set", "continue", "stepi", READS, "stepi", READS,
                               "bl mode", "monitor info registers"], setup=SYMBOLS)
    assert "ljmp" in t.out("stepi", 0) or "ljmp" in t.out("continue"), t
    assert reads(t, 1) > reads(t, 0), t
    assert "bootlab: mode compatibility (32-bit) -> 64-bit" in str(t), t
    assert "CS64" in t.out("monitor info registers")


def test_x_i_follows_raw_steps(guest_modes):
    """After bl next-mode (raw steps GDB never sees) into 32-bit code, x/i
    decodes as 32-bit code, as the context display does."""
    image, labels = guest_modes
    t = driver.run_gdb(image, ["set bootlab context off", "hbreak *0x%x" % labels["pe16"],
                               "continue", "delete", "bl next-mode", "x/2i $pc"])
    assert "bootlab: mode protected (16-bit) -> protected (32-bit)" in t.out("bl next-mode"), t
    first = driver.gdb_insns(t.out("x/2i $pc"))
    ref = driver.objdump_insns(image, 0x7c00, labels["pm32"], 2, "i386")
    assert [(a, m) for a, m, _ in first][:1] == [(ref[0][0], first[0][1])], (first, ref)
    assert driver.same_mnemonic(first[0][1], ref[0][1]), (first, ref)


@pytest.fixture(scope="module")
def guest_modes(tmp_path_factory):
    return driver.build_guest("modes", tmp_path_factory.mktemp("modes"))


def test_rep_runs_as_one_step_unless_asked(image):
    """From pm_entry, bl next-mode crosses the page-table clearing
    `rep stosd` (3072 iterations) as one step; --each-iteration steps them."""
    t = driver.run_gdb(image, ["set bootlab context off", "break pm_entry", "continue",
                               "bl next-mode"], setup=SYMBOLS)
    one = t.out("bl next-mode")
    assert "1 rep instruction ran as one step each" in one, one
    steps = int(re.search(r"(\d+) steps in", one).group(1))
    t = driver.run_gdb(image, ["set bootlab context off", "break pm_entry", "continue",
                               "bl next-mode --each-iteration"], setup=SYMBOLS)
    each = t.out("bl next-mode --each-iteration")
    assert "rep instruction" not in each
    assert int(re.search(r"(\d+) steps in", each).group(1)) >= steps + 3071, each


@pytest.mark.parametrize("event,expect", [
    ("cr3", r"bootlab: CR3 loaded: CR3 0x0 -> 0x1000"),
    ("paging", r"bootlab: paging off -> 4-level"),
    ("cr", r"bootlab: control register write ahead: movl +%eax,%cr4 at 0x[0-9a-f]+"),
    ("msr", r"bootlab: MSR write ahead: wrmsr at 0x[0-9a-f]+"),
    ("far", r"bootlab: far transfer ahead: ljmpl +\$0x18:\$0x10000 at 0x[0-9a-f]+"),
])
def test_until_each_event_from_pm_entry(image, event, expect):
    t = driver.run_gdb(image, ["set bootlab context off", "break pm_entry", "continue",
                               "bl until %s" % event], setup=SYMBOLS)
    assert re.search(expect, t.out("bl until %s" % event)), t


def test_until_exception_stops_at_the_handler(variant):
    """FAULT=ud: the kernel executes ud2; bl until exception stops in the
    handler the IDT names, not after it."""
    image = variant(FAULT="ud") / "bootlab.img"
    syms = cmdline.symbol_commands(project.elf_paths(variant(FAULT="ud")))
    # From the kprintf call before the ud2: a few thousand steps.
    t = driver.run_gdb(image, ["set bootlab context off", "break trigger_configured_fault",
                               "continue", "bl until exception", "info symbol $pc"], setup=syms)
    out = t.out("bl until exception")
    assert "bootlab: exception or interrupt: after ud2" in out, t
    assert t.out("info symbol $pc").startswith("isr_6 "), t


def test_step_counts_and_events_are_bounded_and_checked(image):
    t = driver.run_gdb(image, ["bl until", "bl until nothing", "bl next-mode 0",
                               "bl next-mode -1", "bl until cr3 99999999999"], setup=SYMBOLS)
    assert "name an event: mode, paging, cr3, far, exception, cr, msr" in t.out("bl until")
    assert "name an event" in t.out("bl until nothing")
    assert "out of range (1..1000000000)" in t.out("bl next-mode 0")
    assert "out of range (1..1000000000)" in t.out("bl next-mode -1")
    assert "out of range" in t.out("bl until cr3 99999999999")
    assert "Traceback" not in str(t)
