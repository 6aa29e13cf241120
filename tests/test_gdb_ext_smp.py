"""The extension with several CPUs: every bl command describes GDB's
selected thread's CPU (`thread N` is CPU N-1), checked against QEMU's own
`info registers -a`; `bl cpus` lists them all. The lab's image with -smp 2
at 0x7c00: CPU 0 in real mode at the boot sector, CPU 1 halted by SeaBIOS in
its 32-bit protected-mode code (it parks the APs after counting them)."""
import re

import pytest

from bootlab import project
from bootlab.qemu import cmdline, monitor
from guests import driver


@pytest.fixture(scope="module")
def two(image):
    cmds = ["thbreak *0x7c00", "continue", "bl cpus", "python print(gdb.execute("
            "'monitor info registers -a', to_string=True))", "thread 2", "bl mode", "bl seg",
            "bl cr", "bl context", "bl cpus", "thread 1", "bl mode", "bl seg"]
    return driver.run_gdb(image, cmds, setup=cmdline.symbol_commands(project.elf_paths()),
                          extra_qemu=["-smp", "2"])


def all_cpus(t):
    return monitor.parse_all(t.out("python print(gdb.execute('monitor info registers -a', "
                                   "to_string=True))"))


def test_each_cpu_is_described_as_qemu_holds_it(two):
    cpu0, cpu1 = all_cpus(two)
    assert "mode:   protected (32-bit)" in two.out("bl mode", 0), two
    assert "cpu:    1" in two.out("bl mode", 0)
    assert "at:     0x%x" % cpu1.values["EIP"] in two.out("bl mode", 0)
    seg = two.out("bl seg", 0)
    cs1 = cpu1.segs["CS"]
    assert re.search(r"^CS   %04x  %016x  %08x  code" % (cs1.selector, cs1.base, cs1.limit), seg,
                     re.M), seg
    gdt1 = cpu1.tables["GDT"]
    assert re.search(r"^GDTR +%016x  %08x" % gdt1, seg, re.M), seg
    assert re.search(r"^CR0  0x%08x" % cpu1.values["CR0"], two.out("bl cr", 0), re.M)
    assert "-- bootlab: CPU 1, protected (32-bit), paging off -- 0x%x (in HLT" \
        % cpu1.values["EIP"] in two.out("bl context")
    # Back on CPU 0: its own state again, not CPU 1's left over.
    assert "mode:   real" in two.out("bl mode", 1) and "cpu:    0" in two.out("bl mode", 1)
    cs0 = cpu0.segs["CS"]
    assert re.search(r"^CS   %04x  %016x" % (cs0.selector, cs0.base), two.out("bl seg", 1), re.M)


def test_bl_cpus_lists_every_cpu(two):
    lines = two.out("bl cpus", 0).strip().splitlines()
    assert len(lines) == 2, lines
    assert re.match(r"^\* CPU 0  real +paging off +0000:7c00 \(linear 0x7c00\) +started$", lines[0])
    assert re.match(r"^  CPU 1  protected \(32-bit\) +paging off +0x[0-9a-f]+ +HLT parked in "
                    r"the BIOS", lines[1]), lines
    after = two.out("bl cpus", 1).strip().splitlines()
    assert after[0].strip().startswith("CPU 0") and after[1].startswith("* CPU 1"), after


def test_mode_messages_name_the_cpu(two):
    assert "bootlab: CPU 0 mode real, paging off" in str(two)
