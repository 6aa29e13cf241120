"""The bootlab GDB extension on the project's own boot chain (build/bootlab.img
with the per-mode symbol files): mode changes at the transition symbols, the
GDT and IDT as the boot code built them, the kernel banner on the VGA
screen, and source-level stepping still working with the extension loaded."""
import re
import sys
from pathlib import Path

import pytest

from bootlab import project
from bootlab.qemu import cmdline
from guests import driver

BUILD = driver.ROOT / "build"
SYMBOLS = cmdline.symbol_commands(project.elf_paths())
# -snapshot: guest writes go to a temporary overlay, so the image is never
# modified and other runs of it (make tour, other tests) are not disturbed.
DEBUG_EXIT = ("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-snapshot")


@pytest.fixture(scope="module")
def boot_image(image):
    """The lead's image fixture (conftest.py) builds it with make."""
    for f in ("boot16.elf", "boot32.elf", "kernel.elf"):
        if not (BUILD / f).exists():
            pytest.skip("build/%s missing" % f)
    return image


def run(image, commands):
    return driver.run_gdb(image, ["set bootlab context off"] + commands, setup=SYMBOLS,
                          extra_qemu=DEBUG_EXIT)


def stop_at(symbol):
    # &SYM: the 32-bit labels carry no type information.
    return ["hbreak *&%s" % symbol, "continue", "delete"]


TRANSITIONS = ["boot_start", "stage2_start", "gdt_loaded", "pe_set", "pm_entry",
               "page_tables_built", "pae_enabled", "cr3_loaded", "lme_set", "pg_set",
               "lm_entry", "kmain"]


def test_mode_sequence_at_transition_symbols(boot_image):
    cmds = []
    for sym in TRANSITIONS:
        cmds += stop_at(sym) + ["bl mode"]
    t = run(boot_image, cmds)
    modes = [re.search(r"^mode:\s+(.*)$", t.out("bl mode", i), re.M).group(1)
             for i in range(len(TRANSITIONS))]
    assert dict(zip(TRANSITIONS, modes)) == {
        "boot_start": "real", "stage2_start": "real", "gdt_loaded": "real",
        "pe_set": "protected (16-bit)", "pm_entry": "protected (32-bit)",
        "page_tables_built": "protected (32-bit)", "pae_enabled": "protected (32-bit)",
        "cr3_loaded": "protected (32-bit)", "lme_set": "protected (32-bit)",
        "pg_set": "compatibility (32-bit)", "lm_entry": "64-bit", "kmain": "64-bit"}, t
    changes = re.findall(r"^bootlab: mode (\S.*)$", str(t), re.M)
    assert changes == ["real, paging off", "real -> protected (16-bit)",
                       "protected (16-bit) -> protected (32-bit)",
                       "protected (32-bit) -> compatibility (32-bit)",
                       "compatibility (32-bit) -> 64-bit"], t
    assert "bootlab: paging off -> 4-level" in str(t)


def test_gdt_decode_equals_descriptors(boot_image):
    t = run(boot_image, stop_at("lm_entry") + ["bl gdt", "x/5gx &gdt"])
    raw = [int(v, 16) for v in re.findall(r"0x([0-9a-f]{16})", t.out("x/5gx &gdt"))]
    gdt = t.out("bl gdt")
    shown = [int(v, 16) for v in re.findall(r"^0x[0-9a-f]{4}  ([0-9a-f]{16})", gdt, re.M)]
    assert shown == raw and len(raw) == 5, t
    rows = {int(m.group(1), 16): m.group(2)
            for m in re.finditer(r"^(0x[0-9a-f]{4})  [0-9a-f]{16}  (.*)$", gdt, re.M)}
    assert re.match(r"base 0x00000000 limit 0xffffffff code XR.* DPL=0 P D=32-bit G=4K", rows[0x08])
    assert re.match(r"base 0x00000000 limit 0xffffffff data RW.* DPL=0 P D=32-bit G=4K", rows[0x10])
    assert re.match(r"base 0x00000000 limit 0xffffffff code XR.* DPL=0 P L=64-bit G=4K", rows[0x18])
    assert re.match(r"base 0x00000000 limit 0xffffffff data RW.* DPL=0 P D=32-bit G=4K", rows[0x20])


def test_vga_shows_the_kernel_banner_and_idt(boot_image):
    t = run(boot_image, stop_at("debug_exit") + ["bl vga", "bl idt 0 2", "bl maps"])
    screen = t.out("bl vga")
    assert "|bootlab: 64-bit kernel running in long mode" in screen, t
    assert "bootlab: all checks passed, halting." in screen, t
    assert len([l for l in screen.splitlines() if l.startswith("|")]) == 25
    idt = t.out("bl idt 0 2")
    assert re.search(r"^  0  0018:[0-9a-f]{16} (int|trap) gate64 DPL=0 P", idt, re.M), t
    assert "4-level paging" in t.out("bl maps")


def test_source_stepping_still_works(boot_image):
    """`next` in the C kernel and stepi in 16-bit code with the extension on."""
    t = run(boot_image, ["break kmain", "continue", "next", "set bootlab context on", "next"])
    assert re.search(r"kmain \(info=.*\) at .*kmain\.c", t.out("continue")), t
    # break kmain stops after the prologue, on console_init(); next goes on.
    assert re.search(r"^\d+\s+print_banner\(\);", t.out("next", 0), re.M), t
    ctx = t.out("next", 1)
    assert re.search(r"^\d+\s+idt_init\(\);", ctx, re.M), t
    assert "-- bootlab: 64-bit, paging 4-level --" in ctx, t
    assert re.search(r"^=> 0x[0-9a-f]+ +callq +0x[0-9a-f]+ <idt_init>", ctx, re.M), t
