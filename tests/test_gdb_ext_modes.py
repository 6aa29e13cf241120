"""The bootlab GDB extension on a guest that visits every mode: 16- and
32-bit protected mode, 32-bit and PAE paging, compatibility and 64-bit
mode. Page walks are checked against QEMU's own translation (`monitor
gva2gpa`), disassembly against objdump, register writes against QEMU's
register dump."""
import re
import sys
from pathlib import Path

import pytest

from guests import driver
from test_gdb_ext import check_against_objdump, changed  # noqa: E402


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    return driver.build_guest("modes", tmp_path_factory.mktemp("modes"))


def at(labels, name, *commands, quiet=True):
    """Commands that stop at label `name` first."""
    pre = ["set bootlab context off"] if quiet else []
    return pre + ["hbreak *0x%x" % labels[name], "continue", "delete"] + list(commands)


def test_mode_messages_at_each_stage(guest):
    image, labels = guest
    cmds = ["set bootlab context off"]
    for name in ("stage2", "pe16", "pm32", "paging32", "paging_pae", "compat", "lm64"):
        cmds += ["hbreak *0x%x" % labels[name], "continue", "delete", "bl mode"]
    t = driver.run_gdb(image, cmds)
    lines = re.findall(r"^bootlab: (?:mode|paging) .*$", str(t), re.M)
    assert lines == [
        "bootlab: mode real, paging off",                       # connecting
        "bootlab: mode real -> protected (16-bit)",             # pe16
        "bootlab: mode protected (16-bit) -> protected (32-bit)",
        "bootlab: paging off -> 32-bit",                         # paging32
        "bootlab: paging 32-bit -> PAE",                         # paging_pae
        "bootlab: mode protected (32-bit) -> compatibility (32-bit)",
        "bootlab: paging PAE -> 4-level",                        # compat
        "bootlab: mode compatibility (32-bit) -> 64-bit",        # lm64
    ], t
    assert "mode:   64-bit" in t.out("bl mode", 6)


def test_next_mode_steps_to_each_change(guest):
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "stage2", "bl next-mode", "bl next-mode"))
    first, second = t.out("bl next-mode", 0), t.out("bl next-mode", 1)
    assert "bootlab: mode real -> protected (16-bit)" in first, t
    assert "bootlab: at 0000:%04x (linear 0x%x)" % (labels["pe16"], labels["pe16"]) in first, t
    assert "bootlab: mode protected (16-bit) -> protected (32-bit)" in second, t
    assert "=> 0x%x:\tmov" % labels["pm32"] in second, t


def test_next_mode_through_a_long_loop(guest):
    """Across the page-table fill loops (thousands of stepi) to PAE paging;
    how fast that goes is measured by `make bench`, not here."""
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "paging32", "bl next-mode", "bl next-mode"))
    out = t.out("bl next-mode", 1)
    assert "bootlab: paging off -> PAE" in out, t
    steps = int(re.search(r"(\d+) steps in [\d.]+ s", out).group(1))
    assert steps > 1000, out


def walk_vs_qemu(t, addresses):
    for addr in addresses:
        walk = t.out("bl walk 0x%x" % addr)
        qemu = t.out("monitor gva2gpa 0x%x" % addr)
        m = re.search(r"gpa: (0x[0-9a-f]+)", qemu)
        if m:
            assert re.search(r"^physical %s " % m.group(1), walk, re.M), (hex(addr), walk, qemu)
        else:
            assert "Unmapped" in qemu, qemu
            assert "not mapped:" in walk, (hex(addr), walk)


def walk_commands(addresses):
    cmds = []
    for a in addresses:
        cmds += ["bl walk 0x%x" % a, "monitor gva2gpa 0x%x" % a]
    return cmds


PAGING32_ADDRS = [0x7e9d, 0xb8123, 0x40123456, 0x80000010, 0x80001fff, 0x80002000, 0xc0000000]
PAE_ADDRS = [0x7f2a, 0x1ff000, 0x234567, 0x40123456, 0x40200000, 0x80000000]
LONG_ADDRS = [0x7fca, 0x3fffff, 0x400000, 0xffffffff80001234, 0xffffffff80200000,
              0x7fffffffffff]


def test_walk_32bit_paging(guest):
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "paging32", *walk_commands(PAGING32_ADDRS), "bl maps"))
    walk_vs_qemu(t, PAGING32_ADDRS)
    assert "PDE  [256] at 0x00020400 = 0x00400083  P RW PS" in t.out("bl walk 0x40123456"), t
    assert "physical 0xb9fff (4 KiB page, r-x user)" in t.out("bl walk 0x80001fff"), t
    maps = t.out("bl maps")
    assert "0x40000000-0x403fffff -> 0x00400000     4 MiB  rwx supervisor" in maps, t
    assert "0x80001000-0x80001fff -> 0x000b9000     4 KiB  r-x user" in maps, t


def test_walk_pae_paging_with_nx(guest):
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "paging_pae", *walk_commands(PAE_ADDRS), "bl maps"))
    walk_vs_qemu(t, PAE_ADDRS)
    walk = t.out("bl walk 0x40123456")
    assert "PDE  [  0] at 0x00025000 = 0x8000000000600083  P RW PS XD" in walk, t
    assert "physical 0x723456 (2 MiB page, rw- supervisor)" in walk, t
    assert "0x40000000-0x401fffff -> 0x00600000     2 MiB  rw- supervisor" in t.out("bl maps")


def test_walk_4level_paging(guest):
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "lm64", *walk_commands(LONG_ADDRS),
                                 "bl walk 0x800000000000", "bl maps"))
    walk_vs_qemu(t, LONG_ADDRS)
    assert "not canonical" in t.out("bl walk 0x800000000000"), t
    maps = t.out("bl maps")
    assert ("0xffffffff80000000-0xffffffff801fffff -> 0x0000000000400000     2 MiB  "
            "r-- supervisor") in maps, t
    assert "0x0000000000000000-0x00000000003fffff -> 0x0000000000000000     4 MiB" in maps, t


def test_32bit_disassembly_equals_objdump(guest):
    image, labels = guest
    start, count = labels["pm32"], 12
    t = driver.run_gdb(image, at(labels, "pm32", "x/%di $pc" % count))
    check_against_objdump(t.out("x/%di $pc" % count), image, 0x7c00, start, count, "i386")


def test_64bit_disassembly_equals_objdump(guest):
    image, labels = guest
    start, count = labels["showcase"], 7
    t = driver.run_gdb(image, at(labels, "lm64", "x/%di 0x%x" % (count, start)))
    check_against_objdump(t.out("x/%di 0x%x" % (count, start)), image, 0x7c00, start, count,
                          "i386:x86-64")


def test_forced_disasm_mode(guest):
    """`set bootlab disasm-mode 64` reads 64-bit code while the CPU is in real mode."""
    image, labels = guest
    start = labels["showcase"]
    t = driver.run_gdb(image, at(labels, "stage2", "x/1i 0x%x" % start,
                                 "set bootlab disasm-mode 64", "x/1i 0x%x" % start))
    assert "movabsq $0x123456789abcdef0,%rax" not in t.out("x/1i 0x%x" % start, 0), t
    assert "movabsq $0x123456789abcdef0,%rax" in t.out("x/1i 0x%x" % start, 1), t


@pytest.mark.parametrize("stage", ["pm32", "lm64"])
def test_register_write_changes_only_that_register(guest, stage):
    image, labels = guest
    writes = ["set $rcx = 0xaaaabbbbccccdddd", "set $ecx = 0x11223344", "set $cx = 0x5566"]
    cmds = at(labels, stage, "monitor info registers")
    for w in writes:
        cmds += [w, "monitor info registers"]
    t = driver.run_gdb(image, cmds)
    dumps = [driver.monitor_registers(t.out("monitor info registers", i)) for i in range(4)]
    name = "RCX" if stage == "lm64" else "ECX"
    # QEMU shows only ECX outside long mode; the upper half must survive anyway.
    expect = [0xaaaabbbbccccdddd, 0xaaaabbbb11223344, 0xaaaabbbb11225566]
    for i in range(3):
        assert changed(dumps[i], dumps[i + 1]) == {name}, (writes[i], t)
        mask = (1 << 64) - 1 if name == "RCX" else 0xffffffff
        assert int(dumps[i + 1][name], 16) == expect[i] & mask, t


def test_gdt_and_segments(guest):
    image, labels = guest
    t = driver.run_gdb(image, at(labels, "lm64", "bl gdt", "bl seg", "bl cr"))
    gdt = t.out("bl gdt")
    assert "0x0008  00cf9a000000ffff  base 0x00000000 limit 0xffffffff code XR DPL=0 P D=32-bit G=4K" in gdt, t
    # The CPU sets the accessed bit when it loads a data segment (SDM 3.4.5.1).
    assert "0x0010  00cf93000000ffff  base 0x00000000 limit 0xffffffff data RW accessed DPL=0 P D=32-bit G=4K" in gdt, t
    assert "0x0018  00af9a000000ffff  base 0x00000000 limit 0xffffffff code XR DPL=0 P L=64-bit G=4K" in gdt, t
    assert re.search(r"^CS   0018 .* L=64-bit", t.out("bl seg"), re.M), t
    cr = t.out("bl cr")
    assert re.search(r"^CR0  0x80000011  \[ PG ET PE \]", cr, re.M), t
    assert re.search(r"^EFER 0x00000d00  \[ NXE LMA LME \]", cr, re.M), t
