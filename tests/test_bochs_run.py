"""Bochs, the way a learner runs it: `make run-bochs`, `make tour-bochs`,
`make crosscheck`, and what happens with a stale lock, a guest that hangs
and two runs at once. Each run must leave no Bochs, no lock file and no
private run directory behind."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

from conftest import BUILD, ROOT

from bootlab import project as milestones
from bootlab.bochs import driver as bochslab

PY = "/usr/bin/python3"
RUN = ["-m", "bootlab.bochs.run"]
TOUR = ["-m", "bootlab.bochs.tourcli"]
CROSSCHECK = ["-m", "bootlab.bochs.crosscheck"]


@pytest.fixture(autouse=True)
def nothing_left_behind(private_tmp):
    """Only our own run directories count: conftest points BOOTLAB_TMP at a
    directory of this test session, so other Bochs runs on the machine (other
    checkouts, other users) never disturb these tests."""
    runs = os.path.join(private_tmp, "bootlab-bochs-*")
    before = set(glob.glob(runs))
    yield
    assert set(glob.glob(runs)) <= before, "a private Bochs run directory was left behind"
    assert not glob.glob(str(BUILD / "*.lock")), "a Bochs lock file was left in build/"
    # conftest's no_emulator_left_behind checks for Bochs processes.


def run(args, timeout=60, env=None):
    return subprocess.run(args, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_headless_boot_reaches_the_kernel_banner(image):
    p = run(["make", "-s", "run-bochs"])
    assert p.returncode == 0, p.stdout + p.stderr
    console = p.stdout.split("debug console (port 0xE9):\n", 1)[1]
    assert console.splitlines()[0].startswith("bootlab: 64-bit kernel")
    assert "bootlab: Bochs run ended in debug_exit(DEBUG_EXIT_SUCCESS)" in p.stdout


def test_runs_without_term_in_the_environment(image):
    """cron, CI and a bare chroot have no TERM; Bochs' term display (curses)
    needs one, so the driver gives it one."""
    env = {k: v for k, v in os.environ.items() if k != "TERM"}
    p = run(["make", "-s", "run-bochs"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bootlab: Bochs run ended in debug_exit(DEBUG_EXIT_SUCCESS)" in p.stdout


def test_two_runs_at_once_share_nothing(image):
    procs = [subprocess.Popen([PY, *RUN], cwd=ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0, out


@pytest.fixture(scope="module")
def tour(image):
    out = BUILD / "tour-bochs.txt"
    p = run(["make", "-s", "tour-bochs"])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    return out.read_text()


def test_tour_visits_every_transition_in_order(tour):
    seen = re.findall(r"^==== \d+/\d+ (\w+):", tour, re.M)
    assert seen == milestones.NAMES
    assert re.search(r"^tour-bochs: 16/16 transitions in order", tour, re.M)


def test_tour_shows_state_mode_switches_page_walk_and_screen(tour):
    pm = tour.split("==== 9/16 pm_entry")[1].split("==== 10/16")[0]
    assert "<bochs> creg" in pm and "<bochs> sreg" in pm and "<bochs> info gdt" in pm
    assert re.search(r"^cs:0x0008, .*\n\tCode segment.*32-bit$", pm, re.M)
    assert "switched from 'real mode' to 'protected mode'" in tour.split("==== 8/16 pe_set")[1]
    pg = tour.split("==== 14/16 pg_set")[1]
    assert "switched from 'protected mode' to 'compatibility mode'" in pg
    assert "linear page 0x00000000000b8000 maps to physical page 0x0000000b8000" in pg
    lm = tour.split("==== 15/16 lm_entry")[1]
    assert "switched from 'compatibility mode' to 'long mode'" in lm
    assert "page 0xb8000" not in tour.split("==== 14/16")[0]     # only once paging is on
    screen = tour.split("VGA text screen at 0xb8000")[1]
    assert "|bootlab: 64-bit kernel running in long mode" in screen


def test_tour_is_fast(tour):
    secs = float(re.search(r"transitions in order, screen read, ([\d.]+) s", tour).group(1))
    assert secs < 1.5


@pytest.fixture
def hanging_image(tmp_path):
    """A boot sector that spins at 0x7c02 forever."""
    src = tmp_path / "hang.asm"
    src.write_text("org 0x7c00\nnop\nnop\nhang: jmp hang\ntimes 510-($-$$) db 0\ndw 0xaa55\n")
    img = tmp_path / "hang.img"
    subprocess.run(["nasm", "-f", "bin", "-o", str(img), str(src)], check=True, timeout=30)
    return img


def test_a_hanging_guest_is_stopped_and_located(hanging_image):
    env = dict(os.environ, BOOTLAB_BOCHS_LEG_LIMIT="1")
    p = run([PY, *RUN, "--image", str(hanging_image)], env=env, timeout=30)
    assert p.returncode == 1
    assert "bootlab: Bochs run stopped early at boot_start+0x2 (jmp" in p.stdout
    assert "no breakpoint within 1.0 s" in p.stdout


def test_tour_that_stops_early_says_where_and_why(hanging_image, tmp_path):
    env = dict(os.environ, BOOTLAB_BOCHS_LEG_LIMIT="1")
    out = tmp_path / "tour.txt"
    p = run([PY, *TOUR, "-q", "--image", str(hanging_image), "--out", str(out)], env=env, timeout=30)
    assert p.returncode == 1
    text = out.read_text()
    assert "==== 1/16 boot_start" in text
    assert re.search(r"tour-bochs: FAILED: stopped early after boot_start: no transition within 1.0 s; "
                     r"interrupted at boot_start\+0x2 \(jmp", text)


def test_stale_lock_on_the_image_is_cleared_and_the_run_works(image, tmp_path):
    img = tmp_path / "bootlab.img"
    img.write_bytes((BUILD / "bootlab.img").read_bytes())
    lock = tmp_path / "bootlab.img.lock"
    lock.write_bytes(b"")                       # what a killed Bochs leaves
    p = run([PY, *RUN, "--image", str(img)])
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("removed stale lock") == 1
    assert not lock.exists()


def test_the_lock_of_a_running_bochs_is_respected(image):
    run_dir = bochslab.RunDir()
    try:
        with bochslab.BochsSession(run_dir) as session:
            assert os.path.exists(run_dir.image + ".lock")      # Bochs' own lock
            with pytest.raises(bochslab.BochsError, match=r"held by a running bochs-bin \(PID %d\)" % session.proc.pid):
                bochslab.clear_stale_lock(run_dir.image)
            assert os.path.exists(run_dir.image + ".lock")
    finally:
        run_dir.remove()


@pytest.fixture(scope="module")
def crosscheck_runs(image, tmp_path_factory):
    saved = tmp_path_factory.mktemp("crosscheck") / "runs.json"
    p = run(["make", "-s", "crosscheck"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "crosscheck: QEMU and Bochs agree at all 16 milestones" in p.stdout
    p = run([PY, *CROSSCHECK, "--save", str(saved)])
    assert p.returncode == 0, p.stdout + p.stderr
    return saved


def test_crosscheck_passes(crosscheck_runs):
    runs = json.loads(crosscheck_runs.read_text())
    assert runs["qemu"]["stops"]["lm_entry"]["cs_mode"] == runs["bochs"]["stops"]["lm_entry"]["cs_mode"] == 64


def test_crosscheck_fails_on_a_different_state(crosscheck_runs, tmp_path):
    runs = json.loads(crosscheck_runs.read_text())
    runs["bochs"]["stops"]["cr3_loaded"]["cr3"] = 0x2000
    runs["bochs"]["stops"]["pm_entry"]["cs"] = 0x18
    runs["bochs"]["screen"][0] = "bootlab: something else"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(runs))
    p = run([PY, *CROSSCHECK, "--load", str(bad)])
    assert p.returncode == 1
    assert "DIFF pm_entry" in p.stdout and "CS differs: QEMU 0x0008, Bochs 0x0018" in p.stdout
    assert "DIFF cr3_loaded" in p.stdout and "CR3 differs: QEMU 0x1000, Bochs 0x2000" in p.stdout
    assert "DIFF screen" in p.stdout and "'bootlab: something else'" in p.stdout
    assert "crosscheck: FAILED: 3 difference(s)" in p.stdout


def test_readme_transcript_matches_the_walk(tour):
    """The transcript in the README's Bochs section is what the tour prints
    (emulated-time stamps aside)."""
    readme = (ROOT / "README.md").read_text().split("## Debugging with Bochs")[1]
    block = readme.split("### A short transcript")[1].split("```")[1]
    lines = [l for l in block.splitlines()[1:] if l and l != "..."]
    assert len(lines) > 10
    for line in lines:
        line = re.sub(r"^\d{11}: ", "", line)
        if line.startswith("Next at t="):
            continue
        assert line in tour, line
