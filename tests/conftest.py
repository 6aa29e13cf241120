"""Shared fixtures for bootlab's tests: build the image, boot it in QEMU, drive
GDB. Every wait has a timeout, and every emulator a test starts is checked to
be gone when the test ends."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bootlab import project, session, vga
from bootlab.qemu import cmdline

ROOT = project.ROOT
BUILD = ROOT / "build"
IMAGE = BUILD / "bootlab.img"
# QEMU's isa-debug-exit turns the kernel's status byte v into exit code 2v+1.
EXIT_SUCCESS = (0x10 << 1) | 1
EXIT_FAILURE = (0x11 << 1) | 1
EMULATORS = ("qemu-system", "bochs")


def qemu_command(image, *extra, cpu=None):
    """A headless QEMU booting image, with isa-debug-exit, plus extra options."""
    return cmdline.qemu(cmdline.Machine(disk=image, cpu=cpu), debug_exit=True, extra=extra)


def run_qemu(image, tmp_path, timeout=20, cpu=None):
    """Boot headless until the guest exits through isa-debug-exit.
    Returns (exit status, text the guest wrote to port 0xE9)."""
    log = tmp_path / "debugcon.log"
    proc = subprocess.run(qemu_command(image, "-debugcon", f"file:{log}", cpu=cpu),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)
    return proc.returncode, log.read_text(errors="replace") if log.exists() else ""


class Completed:
    def __init__(self, result):
        self.returncode, self.stdout = result.status, result.output


def gdb_batch(commands, image=IMAGE, timeout=30, symbols=True, qemu_extra=(), tmp=None):
    """Run GDB (no extension) in batch mode against a paused QEMU
    (bootlab.session). commands: list of GDB command lines. Returns an
    object with .returncode and .stdout (GDB's output, stderr included)."""
    import tempfile
    machine = cmdline.Machine(disk=image)
    with tempfile.TemporaryDirectory(prefix="bootlab-test-") as tmpdir:
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd, extra=qemu_extra),
                          Path(tmpdir) / "qemu.log") as qemu:
            lines = ["set pagination off", "set confirm off", qemu.target]
            argv = cmdline.gdb(setup=False, batch=True,
                               symbols=project.elf_paths() if symbols else (),
                               commands=lines + list(commands))
            # Symbols first, then the target (as make debug does).
            return Completed(session.batch_gdb(qemu, argv, timeout))


def committed(relpath):
    """A file as the checkout's HEAD holds it: what ships, whatever a learner
    has since written into the working tree (lab/answers.txt, lab/scripts/)."""
    return subprocess.run(["git", "show", f"HEAD:{relpath}"], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=30).stdout


def committed_tree(relpath, into):
    """Copy the files git holds under relpath (HEAD) into the directory
    `into`; returns the paths written."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"HEAD:{relpath}"], cwd=ROOT,
                           check=True, capture_output=True, text=True, timeout=30).stdout.split()
    into.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        (into / name).write_text(committed(f"{relpath}/{name}"))
        paths.append(into / name)
    return paths


def copy_checkout(into):
    """A copy of this checkout's working tree (the files git lists, tracked
    or new, as they are now) at `into`, made a git repository of its own
    whose HEAD holds them: a learner's clone, to change freely."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True, timeout=30).stdout
    into.mkdir(parents=True, exist_ok=True)
    for name in sorted(set(names.decode().split("\0")) - {""}):
        source = ROOT / name
        if source.is_file():        # a file deleted in the working tree is left out
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    git = ["git", "-c", "user.name=bootlab test", "-c", "user.email=test@bootlab.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "as shipped"]):
        subprocess.run(git + args, cwd=into, check=True, capture_output=True, timeout=60)
    return into


def make(*args, cwd=ROOT, check=True, timeout=120):
    proc = subprocess.run(["make", "-s", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"make {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def vga_text(cells: bytes):
    """80x25 lines of text from the 4000 bytes of the VGA text buffer."""
    return vga.lines(cells)


@pytest.fixture(scope="session", autouse=True)
def private_tmp(tmp_path_factory):
    """A temporary directory of this test session for every tool's own
    temporary files (BOOTLAB_TMP): tests count and clean up only what is
    theirs, whatever else runs on the machine."""
    path = str(tmp_path_factory.mktemp("bootlab-tmp"))
    os.environ["BOOTLAB_TMP"] = path
    # Every process this test run starts inherits the mark; an emulator
    # re-parented to init still carries it (no_emulator_left_behind).
    os.environ[RUN_MARK] = "%d-%d" % (os.getpid(), time.time_ns())
    return path


@pytest.fixture(scope="session")
def image():
    """The default build, up to date."""
    make()
    return IMAGE


@pytest.fixture(scope="session")
def variant(tmp_path_factory):
    """variant(FAULT="pf") -> Path of an image built with those make options,
    in a build directory of its own (the default build is left alone)."""
    built = {}

    def build(**options):
        key = tuple(sorted(options.items()))
        if key not in built:
            out = tmp_path_factory.mktemp("build")
            make(f"B={out}", *(f"{k}={v}" for k, v in key))
            built[key] = out
        return built[key]
    return build


def _descendants(pid):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


RUN_MARK = "BOOTLAB_TEST_RUN"


def _emulators(since_ticks, places=()):
    """Emulator processes of this test run started at or after since_ticks
    (clock ticks since boot): our descendants, or processes whose
    environment carries this run's mark (an emulator whose GDB died is
    re-parented to init, and must count too). Nothing else on the machine
    counts: another checkout's `make check`, a learner's `make debug`."""
    mine = set(_descendants(os.getpid()))
    mark = ("%s=%s" % (RUN_MARK, os.environ.get(RUN_MARK, ""))).encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            comm = (proc / "comm").read_text().strip()
            if not comm.startswith(EMULATORS):
                continue
            start = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[19])
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        pid = int(proc.name)
        if pid in mine or (start >= since_ticks and mark in environ):
            found.append((pid, comm))
    return found


def _now_ticks():
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


@pytest.fixture(autouse=True)
def no_emulator_left_behind(tmp_path_factory):
    """Fail a test that leaves an emulator running (and stop it, by PID) or a
    Bochs lock file next to the lab's image."""
    since = _now_ticks()
    places = (str(ROOT), str(tmp_path_factory.getbasetemp()))
    yield
    deadline = time.monotonic() + 3
    while (left := _emulators(since, places)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"emulators left running: {left}"
    locks = sorted(BUILD.glob("**/*.lock"))
    assert not locks, f"lock files left behind: {locks}"
