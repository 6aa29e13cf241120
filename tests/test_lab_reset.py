"""make lab-reset (mk/lab.mk, bootlab/lab/reset.py), in a copy of the
checkout as a learner's clone: answers and scripts back to git's HEAD,
only after a confirmation that names what will be lost, with a backup; no
terminal means no, unless YES=1."""
import os
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import copy_checkout

LIMIT_S = 60


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return copy_checkout(tmp_path_factory.mktemp("learner") / "bootlab")


@pytest.fixture
def worked(clone):
    """The clone as a learner leaves it: an answer filled in, a shipped
    script written, one deleted, a script of their own."""
    subprocess.run(["git", "checkout", "-q", "HEAD", "--", "lab"], cwd=clone, check=True,
                   timeout=30)
    subprocess.run(["git", "clean", "-q", "-fd", "--", "lab"], cwd=clone, check=True, timeout=30)
    shutil.rmtree(clone / "build", ignore_errors=True)
    answers = clone / "lab/answers.txt"
    answers.write_text(answers.read_text().replace("ex01.dl:\n", "ex01.dl: 0x80\n"))
    (clone / "lab/scripts/03-dap.gdb").write_text("break stage2_loaded\ncontinue\n")
    (clone / "lab/scripts/10-vga.gdb").unlink()
    (clone / "lab/scripts/mine.gdb").write_text("bl mode\n")
    return clone


def lab_state(clone):
    return {str(p.relative_to(clone)): p.read_text()
            for p in sorted((clone / "lab").glob("answers.txt")) + sorted((clone / "lab/scripts").glob("*"))}


def shipped(clone):
    out = subprocess.run(["git", "status", "--porcelain", "--", "lab"], cwd=clone, check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return out == ""


def make_reset(clone, *options):
    return subprocess.run(["make", "-s", "lab-reset", *options], cwd=clone,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=LIMIT_S)


def names_what_is_lost(text):
    assert re.search(r"lab/answers\.txt\s+changed: 1 answer filled in", text), text
    assert re.search(r"lab/scripts/03-dap\.gdb\s+changed", text), text
    assert re.search(r"lab/scripts/10-vga\.gdb\s+deleted: it comes back", text), text
    assert re.search(r"lab/scripts/mine\.gdb\s+not shipped: removed", text), text
    assert re.search(r"A copy of them goes to build/lab-backup-\d{8}-\d{6} first", text), text


def backups(clone):
    return sorted((clone / "build").glob("lab-backup-*"))


def test_without_a_terminal_it_refuses(worked):
    before = lab_state(worked)
    proc = make_reset(worked)
    assert proc.returncode != 0
    names_what_is_lost(proc.stdout)
    assert "bootlab: make lab-reset asks before it replaces your files, and there is no " \
           "terminal to ask on: run it with YES=1 to go ahead" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert lab_state(worked) == before and not backups(worked)


def test_yes_resets_with_a_backup(worked):
    before = lab_state(worked)
    proc = make_reset(worked, "YES=1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names_what_is_lost(proc.stdout)
    assert shipped(worked), "lab/ is not as HEAD has it"
    assert not (worked / "lab/scripts/mine.gdb").exists()
    [backup] = backups(worked)
    assert re.search(r"yours are in build/lab-backup-\d{8}-\d{6}$", proc.stdout.strip())
    kept = {str(p.relative_to(backup)): p.read_text() for p in backup.rglob("*") if p.is_file()}
    assert kept == {k: v for k, v in before.items() if k != "lab/scripts/04-a20-off.gdb"}
    again = make_reset(worked)
    assert again.returncode == 0
    assert "nothing to reset" in again.stdout


def converse(clone, reply):
    """make lab-reset on a terminal (a pty), answering reply to its question."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(clone)
        os.execvp("make", ["make", "-s", "lab-reset"])
    seen, deadline, answered = b"", time.monotonic() + LIMIT_S, False
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], deadline - time.monotonic())[0]:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:         # the child closed the terminal: done
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N] " in seen:
                os.write(fd, reply.encode() + b"\n")
                answered = True
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_on_a_terminal_it_asks_first(worked):
    before = lab_state(worked)
    status, text = converse(worked, "n")
    assert status == 0, text
    names_what_is_lost(text)
    assert "Reset these files? [y/N]" in text and "bootlab: nothing reset" in text
    assert lab_state(worked) == before and not backups(worked)
    status, text = converse(worked, "y")
    assert status == 0, text
    assert shipped(worked) and len(backups(worked)) == 1, text
