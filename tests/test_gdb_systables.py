"""bl tss, bl ldt, bl msr, bl apic, bl where and bl pbreak against real QEMU
and GDB, on tests/guests/systab.asm (a 32-bit TSS with an I/O bitmap, an
LDT, the APIC enabled, then a 64-bit TSS), each compared with what QEMU's
monitor says of the same state (`info registers`, `info lapic`, `gva2gpa`)."""
import re

import pytest

from guests import driver


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    return driver.build_guest("systab", tmp_path_factory.mktemp("systab"))


@pytest.fixture(scope="module")
def session(guest):
    image, labels = guest
    return driver.run_gdb(image, [
        "set bootlab context off", "bl tss", "bl ldt",
        "hbreak *0x%x" % labels["pm_tables"], "continue",
        "bl tss", "bl ldt", "bl apic", "monitor info lapic", "monitor info registers",
        "bl msr", "bl msr fs_base", "bl msr 0x1b", "bl msr lstar", "bl msr bogus",
        "bl where 0x%x" % labels["done"], "bl tss 1",
        "delete", "hbreak *0x%x" % labels["lm_tables"], "continue",
        "bl tss", "bl ldt", "monitor info registers", "bl msr efer", "info registers efer",
        "bl where 0x%x" % labels["done"], "monitor gva2gpa 0x%x" % labels["done"],
        "bl where 0x300000", "bl where", "bl where -1",
        "delete", "bl pbreak 0x%x" % labels["done"], "continue", "bl mode"])


def monitor_line(text, reg):
    m = re.search(r"^%s\s*=([0-9a-f]{4}) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)" % reg, text, re.M)
    return tuple(int(g, 16) for g in m.groups())


def test_real_mode_has_no_tss_or_ldt(session):
    assert session.out("bl tss").startswith("real mode: no TSS is used"), session
    assert session.out("bl ldt").startswith("real mode: no descriptor tables"), session


def test_tss32_agrees_with_the_monitor(session):
    out = session.out("bl tss", 1)
    sel, base, limit, _ = monitor_line(session.out("monitor info registers"), "TR")
    assert out.startswith("TR %04x -> TSS32 at 0x%x, limit 0x%x" % (sel, base, limit)), out
    assert re.search(r"SS0:ESP0\s+0010:00009000\s+stack on entry to ring 0", out), out
    assert re.search(r"CR3\s+0x123000", out) and re.search(r"LDT\s+0x20\s+LDT selector", out)
    assert "ports allowed at CPL > IOPL: 0x3f8-0x3ff" in out, out


def test_ldt_agrees_with_the_monitor(session):
    out = session.out("bl ldt", 1)
    sel, base, limit, _ = monitor_line(session.out("monitor info registers"), "LDT")
    assert out.startswith("LDTR %04x base 0x%x limit 0x%x" % (sel, base, limit)), out
    # FS was loaded from LDT entry 1 (selector 0x0f): the monitor's FS cache
    # must be what bl ldt decodes for selector 0x000c.
    _, fs_base, fs_limit, _ = monitor_line(session.out("monitor info registers"), "FS")
    assert re.search(r"^0x0008  sel 0x000c  \w+  base 0x%08x limit 0x%08x data RW accessed DPL=3"
                     % (fs_base, fs_limit), out, re.M), out


def test_apic_agrees_with_info_lapic(session):
    out = session.out("bl apic")
    lapic = session.out("monitor info lapic")
    assert "base 0xfee00000" in out and "values from `monitor info lapic`" in out, out
    spiv = re.search(r"^SPIV\s+0x([0-9a-f]+)", lapic, re.M).group(1)
    assert re.search(r"0x0f0 SVR\s+0x%s  software-enabled" % spiv, out), out
    tpr = int(re.search(r"TPR 0x([0-9a-f]+)", lapic).group(1), 16)
    assert re.search(r"0x080 TPR\s+0x%08x" % tpr, out), out
    assert "0x320 LVT Timer      0x00030040  vector 0x40, periodic, masked" in out, out
    assert "0x020 ID             (not shown by QEMU)" in out


def test_msr_values_and_what_is_unavailable(session):
    out = session.out("bl msr")
    _, fs_base, _, _ = monitor_line(session.out("monitor info registers"), "FS")
    assert re.search(r"^0xc0000100 IA32_FS_BASE\s+0x%016x$" % fs_base, out, re.M), out
    assert re.search(r"^0x0000001b IA32_APIC_BASE\s+unavailable$", out, re.M), out
    assert "gdbstub cannot run RDMSR" in session.out("bl msr 0x1b")
    assert session.out("bl msr bogus").startswith("ERROR: bl msr: no MSR named 'bogus'")
    efer = int(re.search(r"efer\s+0x([0-9a-f]+)", session.out("info registers efer")).group(1), 16)
    assert re.search(r"IA32_EFER\s+0x%016x  \[ LMA LME \]" % efer, session.out("bl msr efer"))


def test_tss64_agrees_with_the_monitor(session):
    out = session.out("bl tss", 2)
    sel, base, limit, _ = monitor_line(session.out("monitor info registers", 1), "TR")
    assert out.startswith("TR %04x -> TSS64 at 0x%x, limit 0x%x" % (sel, base, limit)), out
    assert re.search(r"RSP0\s+0xffff800000010000", out) and re.search(r"IST7\s+0x0+7700", out)
    assert "no I/O permission bitmap" in out


def test_where_agrees_with_gva2gpa(guest, session):
    _, labels = guest
    assert session.out("bl where 0x%x" % labels["done"]).startswith("paging is off")
    out = session.out("bl where 0x%x" % labels["done"], 1)
    gpa = int(re.search(r"gpa: (0x[0-9a-f]+)", session.out(
        "monitor gva2gpa 0x%x" % labels["done"])).group(1), 16)
    assert gpa == labels["done"]
    assert re.search(r"^  0x0*%x  in the 2 MiB page" % labels["done"], out, re.M), out
    assert "(not mapped in this address space)" in session.out("bl where 0x300000")


def test_pbreak_stops_where_the_physical_code_runs(guest, session):
    _, labels = guest
    out = session.out("bl pbreak 0x%x" % labels["done"])
    assert "1 breakpoint, for this address space only (CR3 0x20000)" in out, out
    assert re.search(r"Breakpoint \d+, 0x0*%x" % labels["done"], session.out("continue", 2))
    assert "64-bit" in session.out("bl mode")


def test_arguments_are_checked(session):
    assert session.out("bl tss 1").startswith("ERROR: bl tss: no arguments expected")
    assert "expected one physical address" in session.out("bl where")
    assert "out of range" in session.out("bl where -1")
