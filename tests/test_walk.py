"""`make walk`: the scripted GDB tour reaches every transition in order,
shows the state a learner should see there, and fails loudly when the guest
does not get there."""
import re
import subprocess

import pytest

from conftest import ROOT, make

# The boot-path table of the README, in order.
MILESTONES = ["boot_start", "stage2_loaded", "a20_enabled", "e820_done",
              "long_mode_supported", "gdt_loaded", "pe_set", "pm_entry",
              "page_tables_built", "pae_enabled", "cr3_loaded", "lme_set",
              "pg_set", "lm_entry", "kmain"]


def run_walk(*options):
    return subprocess.run(["make", "-s", "walk", *options], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=150)


@pytest.fixture(scope="module")
def walk(image):
    proc = run_walk()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    transcript = (ROOT / "build/walk.txt").read_text()
    return transcript


def sections(transcript):
    """{symbol or title: text of that section} in transcript order."""
    parts = re.split(r"^=== \d+\. ", transcript, flags=re.M)[1:]
    return [(p.split("\n", 1)[0], p) for p in parts]


def test_walk_stops_at_every_milestone_in_order(walk):
    heads = [head for head, _ in sections(walk)]
    seen = [m for head in heads for m in MILESTONES if re.search(rf"\({m}\)", head)]
    assert seen == MILESTONES
    assert heads[-2].startswith("The first write to VGA memory")
    assert re.search(r"caught the C\nline that wrote it, kernel/console.c:\d+:", walk)
    assert heads[-1].startswith("The kernel is done (debug_exit)")
    assert walk.rstrip().endswith("[Inferior 1 (process 1) killed]")
    assert "bootlab walk: complete." in walk


def section(walk, symbol):
    return next(text for head, text in sections(walk) if f"({symbol})" in head)


def test_mode_changes_are_announced_in_order(walk):
    changes = re.findall(r"^bootlab: mode (.+)$", walk, flags=re.M)
    # The first stop names the starting mode; then each change, in order.
    assert changes[0] == "real, paging off"
    assert changes[1:] == ["real -> protected (16-bit)",
                           "protected (16-bit) -> protected (32-bit)",
                           "protected (32-bit) -> compatibility (32-bit)",
                           "compatibility (32-bit) -> 64-bit"]


def test_control_register_bits_at_each_transition(walk):
    # The context display prints each changed register with the bits it gained.
    assert re.search(r"^CR0 0x\w+ -> 0x\w+  \(\+PE\)", section(walk, "pe_set"), re.M)
    assert re.search(r"^CR4 0x0 -> 0x20  \(\+PAE\)", section(walk, "pae_enabled"), re.M)
    assert re.search(r"^CR3 0x0 -> 0x1000", section(walk, "cr3_loaded"), re.M)
    assert re.search(r"^EFER 0x0 -> 0x100  \(\+LME\)", section(walk, "lme_set"), re.M)
    pg = section(walk, "pg_set")
    assert re.search(r"^CR0 0x11 -> 0x80000011  \(\+PG\)", pg, re.M)
    assert re.search(r"^EFER 0x100 -> 0x500  \(\+LMA\)", pg, re.M)


def test_walk_shows_decoded_state(walk):
    gdt = section(walk, "gdt_loaded")
    assert re.search(r"^0x0018  00af9a000000ffff .*code .*L=64-bit", gdt, re.M)
    pm = section(walk, "pm_entry")
    assert re.search(r"^CS   0008 .*D=32-bit", pm, re.M)
    pg = section(walk, "pg_set")
    assert "physical 0xb8000" in pg
    lm = section(walk, "lm_entry")
    assert re.search(r"^CS   0018 .*L=64-bit", lm, re.M)
    km = section(walk, "kmain")
    assert "info = 0x4000" in km


def test_walk_ends_on_the_rendered_screen(walk):
    assert "|bootlab: 64-bit kernel running in long mode" in walk
    assert "|bootlab: all checks passed, halting." in walk


def test_walk_fails_with_reason_when_the_kernel_faults(tmp_path):
    proc = run_walk(f"B={tmp_path}", "FAULT=ud")
    assert proc.returncode != 0
    transcript = (tmp_path / "walk.txt").read_text()
    assert re.search(r"^walk: stopped in exception_handler before debug_exit: "
                     r"the kernel took a CPU exception", transcript, re.M)
    assert "bootlab: walk failed" in proc.stdout
