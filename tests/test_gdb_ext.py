"""The bootlab GDB extension (debug/gdb) on a real-mode guest that runs with
CS=0x07c0: mode, seg:off addresses, 16-bit disassembly, breakpoints that GDB
alone reports as a bare SIGTRAP, register writes, and one-line errors."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from guests import driver


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    return driver.build_guest("realmode", tmp_path_factory.mktemp("realmode"))


def test_mode_and_breakpoint_at_seg_offset(guest):
    image, labels = guest
    entry = labels["entry"]
    t = driver.run_gdb(image, ["set bootlab context off", "break *0x%x" % entry,
                               "continue", "bl mode", "bl regs", "x/1i $bl_pc()"])
    stop = t.out("continue")
    # GDB alone says only "Program received signal SIGTRAP" at the offset 0x5.
    assert "bootlab: Breakpoint 1 at 07c0:0005 (linear 0x7c05)" in stop, t
    mode = t.out("bl mode")
    assert "mode:   real" in mode and "paging: off" in mode, t
    assert "at:     07c0:0005 (linear 0x7c05)" in mode, t
    assert re.search(r"ip +0005 ", t.out("bl regs")), t
    assert re.search(r"0x7c05:\tcli", t.out("x/1i $bl_pc()")), t


def test_continue_from_breakpoint_moves_on(guest):
    """QEMU re-reports a breakpoint GDB does not know it is stopped at; the
    extension's hook-continue steps over it so the loop goes round once."""
    image, labels = guest
    t = driver.run_gdb(image, ["set bootlab context off", "break *0x%x" % labels["spin"],
                               "continue", "print $cx", "continue", "print $cx",
                               "continue", "print $cx"])
    values = [int(re.search(r"= (\d+)", t.out("print $cx", i)).group(1)) for i in range(3)]
    assert values[1] == values[0] + 1 and values[2] == values[1] + 1, t


def test_context_shows_seg_offset_and_16bit_code(guest):
    image, labels = guest
    t = driver.run_gdb(image, ["hbreak *0x%x" % labels["mixed"], "continue",
                               "bl context"])
    ctx = t.out("bl context")
    assert "-- bootlab: real, paging off -- 07c0:000c (linear 0x7c0c)" in ctx, t
    assert re.search(r"=> 0x7c0c 07c0:000c +movl +\$0x12345678,%eax", ctx), t
    assert re.search(r"\(context took [\d.]+ ms\)", ctx), "bl context reports its cost (make bench)"


def check_against_objdump(gdb_text, image, base, start, count, machine):
    mine = driver.gdb_insns(gdb_text)
    ref = driver.objdump_insns(image, base, start, count, machine)
    assert len(mine) == count and len(ref) == count, (gdb_text, ref)
    for (a1, m1, o1), (a2, m2, o2) in zip(mine, ref):
        # Same address means the same instruction length so far.
        assert a1 == a2, "address %x != objdump %x\n%s" % (a1, a2, gdb_text)
        assert driver.same_mnemonic(m1, m2), (a1, m1, m2)
        assert driver.operand_facts(o1) == driver.operand_facts(o2), (a1, o1, o2)


def test_16bit_disassembly_equals_objdump(guest):
    image, labels = guest
    start, count = labels["mixed"], 8
    t = driver.run_gdb(image, ["hbreak *0x%x" % start, "continue",
                               "x/%di $bl_pc()" % count, "disassemble 0x%x,+8" % start])
    check_against_objdump(t.out("x/%di $bl_pc()" % count), image, 0x7c00, start, count, "i8086")
    # `disassemble` goes through the same decoder.
    assert re.search(r"0x0*7c0c:?\s+movl\s+\$0x12345678,%eax", t.out("disassemble 0x%x,+8" % start)), t


def registers_after_write(image, stop_at, writes):
    cmds = ["set bootlab context off", "hbreak *0x%x" % stop_at, "continue",
            "monitor info registers"]
    for w in writes:
        cmds += [w, "monitor info registers"]
    t = driver.run_gdb(image, cmds)
    dumps = [driver.monitor_registers(t.out("monitor info registers", i))
             for i in range(len(writes) + 1)]
    return t, dumps


def changed(a, b):
    return {k for k in a if a[k] != b.get(k)}


def test_register_write_real_mode(guest):
    image, labels = guest
    t, (before, after) = registers_after_write(image, labels["mixed"], ["set $ecx = 0x11223344"])
    assert changed(before, after) == {"ECX"}, t
    assert int(after["ECX"], 16) == 0x11223344


def test_errors_are_one_line(guest, tmp_path):
    offline = driver.run_gdb(None, [], setup=["bl mode", "bl walk 0", "bl vga"], live=False)
    for cmd in ("bl mode", "bl walk 0", "bl vga"):
        assert offline.out(cmd).strip().startswith("ERROR: bootlab: no live target"), offline
    image, labels = guest
    bad = ["bl walk 0x1000", "bl phys", "bl phys 0 0", "bl cr cr9", "bl mode extra",
           "bl walk (", "bl idt x y z", "bl next-mode 1 2", "set bootlab disasm-mode 8"]
    t = driver.run_gdb(image, ["hbreak *0x%x" % labels["entry"], "continue"] + bad)
    assert "Traceback" not in str(t) and "Traceback" not in str(offline)
    for cmd in bad:
        out = t.out(cmd).strip()
        assert out.startswith("ERROR: ") and "\n" not in out, (cmd, out)
    assert "paging is off" in t.out("bl walk 0x1000")


def test_help_is_the_docstring():
    t = driver.run_gdb(None, [], setup=["help bl", "help bl walk", "help set bootlab context"],
                       live=False)
    assert "bl walk -- " in t.out("help bl") or "bl walk" in t.out("help bl"), t
    assert t.out("help bl walk").startswith("Walk the page tables for a linear address.\nUsage: bl walk ADDR"), t
    assert "each time the target stops" in t.out("help set bootlab context"), t


