"""`make tour`: the scripted GDB tour reaches every transition in order,
shows the state a learner should see there, and fails loudly when the guest
does not get there."""
import re
import subprocess

import pytest

from conftest import ROOT, make

# The boot-path table of the README, in order (written out here, not taken
# from the code: the tour must follow the README).
MILESTONES = ["boot_start", "stage2_loaded", "stage2_start", "a20_enabled", "e820_done",
              "long_mode_supported", "gdt_loaded", "pe_set", "pm_entry",
              "page_tables_built", "pae_enabled", "cr3_loaded", "lme_set",
              "pg_set", "lm_entry", "kmain"]


def run_tour(*options):
    return subprocess.run(["make", "-s", "tour", *options], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=150)


@pytest.fixture(scope="module")
def tour(image):
    proc = run_tour()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    transcript = (ROOT / "build/tour.txt").read_text()
    return transcript


def sections(transcript):
    """{symbol or title: text of that section} in transcript order."""
    parts = re.split(r"^=== \d+\. ", transcript, flags=re.M)[1:]
    return [(p.split("\n", 1)[0], p) for p in parts]


def test_tour_stops_at_every_milestone_in_order(tour):
    heads = [head for head, _ in sections(tour)]
    seen = [m for head in heads for m in MILESTONES if re.search(rf"\({m}\)", head)]
    assert seen == MILESTONES
    assert heads[-2].startswith("The first write to VGA memory")
    assert re.search(r"caught the C\nline that wrote it, kernel/console.c:\d+:", tour)
    assert heads[-1].startswith("The kernel is done (debug_exit)")
    assert tour.rstrip().endswith("bootlab tour: the guest is ended.")
    assert "bootlab tour: complete." in tour
    assert "Traceback" not in tour


def section(tour, symbol):
    return next(text for head, text in sections(tour) if f"({symbol})" in head)


def test_mode_changes_are_announced_in_order(tour):
    changes = re.findall(r"^bootlab: mode (.+)$", tour, flags=re.M)
    # The first stop names the starting mode; then each change, in order.
    assert changes[0] == "real, paging off"
    assert changes[1:] == ["real -> protected (16-bit)",
                           "protected (16-bit) -> protected (32-bit)",
                           "protected (32-bit) -> compatibility (32-bit)",
                           "compatibility (32-bit) -> 64-bit"]


def test_control_register_bits_at_each_transition(tour):
    # The context display prints each changed register with the bits it gained.
    assert re.search(r"^CR0 0x\w+ -> 0x\w+  \(\+PE\)", section(tour, "pe_set"), re.M)
    assert re.search(r"^CR4 0x0 -> 0x20  \(\+PAE\)", section(tour, "pae_enabled"), re.M)
    assert re.search(r"^CR3 0x0 -> 0x1000", section(tour, "cr3_loaded"), re.M)
    assert re.search(r"^EFER 0x0 -> 0x100  \(\+LME\)", section(tour, "lme_set"), re.M)
    pg = section(tour, "pg_set")
    assert re.search(r"^CR0 0x11 -> 0x80000011  \(\+PG\)", pg, re.M)
    assert re.search(r"^EFER 0x100 -> 0x500  \(\+LMA\)", pg, re.M)


def test_tour_shows_decoded_state(tour):
    gdt = section(tour, "gdt_loaded")
    # Real mode: L means nothing yet (SDM 5.2.1), so no "L=64-bit" here.
    assert re.search(r"^0x0018  00af9a000000ffff .*code .*D=16-bit L=1 \(64-bit code once in long mode\)", gdt, re.M)
    pm = section(tour, "pm_entry")
    assert re.search(r"^CS   0008 .*D=32-bit", pm, re.M)
    pg = section(tour, "pg_set")
    assert "physical 0xb8000" in pg
    lm = section(tour, "lm_entry")
    assert re.search(r"^CS   0018 .*L=64-bit", lm, re.M)
    km = section(tour, "kmain")
    assert "info = 0x4000" in km


def test_tour_ends_on_the_rendered_screen(tour):
    assert "|bootlab: 64-bit kernel running in long mode" in tour
    assert "|bootlab: all checks passed, halting." in tour


def test_tour_fails_with_reason_when_the_kernel_faults(tmp_path):
    proc = run_tour(f"B={tmp_path}", "FAULT=ud")
    assert proc.returncode != 0
    transcript = (tmp_path / "tour.txt").read_text()
    assert re.search(r"^tour: stopped in exception_handler before debug_exit: "
                     r"the kernel took a CPU exception", transcript, re.M)
    assert "bootlab: tour failed" in proc.stdout
