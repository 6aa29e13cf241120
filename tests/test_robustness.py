"""Bad input and busy machines (issue 16): every failure is one clear line,
nothing hangs, nothing is left behind, and only our own things are touched."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bootlab import project
from bootlab.qemu import cmdline
from conftest import BUILD, ROOT, _emulators, _now_ticks, make
from guests import driver

PY = sys.executable
SYMBOLS = cmdline.symbol_commands(project.elf_paths())


SESSION_LIMIT = "10"       # seconds: a script that loops for ever is cut short sooner


def grade(answers, scripts=None, ex="1", timeout=120):
    args = [PY, "-m", "bootlab.lab.grade", "--ex", ex, "--answers", str(answers)]
    if scripts:
        args += ["--scripts", str(scripts)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL,
                          env=dict(os.environ, BOOTLAB_SESSION_LIMIT=SESSION_LIMIT))


def no_traceback(proc):
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# ---- the answers file and the learner's scripts ----------------------------------------

def test_answers_not_utf8_names_line_and_byte(tmp_path):
    f = tmp_path / "answers.txt"
    f.write_bytes(b"ex01.dl: 0x80\nex01.signature: caf\xe9\n")
    p = grade(f)
    no_traceback(p)
    assert p.returncode == 2
    assert p.stdout.strip() == (f"grade: {f} line 2, byte 20 of the line: 0xe9 is not UTF-8 "
                                "(save the file as UTF-8)")


def test_answers_that_are_a_directory_or_a_fifo(tmp_path):
    p = grade(tmp_path)
    no_traceback(p)
    assert p.stdout.strip() == f"grade: {tmp_path} is a directory, not a file"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = grade(fifo, timeout=30)          # would block in open() if it were opened
    assert p.stdout.strip() == f"grade: {fifo} is a FIFO, socket or device, not a file"


def test_ignored_lines_and_huge_numbers_are_said(tmp_path):
    f = tmp_path / "answers.txt"
    f.write_text("ex01.dl 0x80\n" + "ex01.sp: " + "1" * 300 + "\n"
                 + "ex01.signature: " + "9" * 40 + "\n")
    p = grade(f)
    no_traceback(p)
    assert f"grade: {f} line 1 has no `key:` (ignored): ex01.dl 0x80" in p.stdout
    assert f"grade: {f} line 2: the answer to ex01.sp is 300 characters long (ignored)" \
        in p.stdout
    assert "`ex01.signature` is far too long for a number the CPU holds (64 bits at most)" \
        in p.stdout
    # A 10 MB line makes a file no answers file is: refused in one line.
    f.write_text("ex01.sp: " + "1" * 10_000_000 + "\n")
    p = grade(f)
    assert p.stdout.strip() == (f"grade: {f} has 10000010 bytes; more than 1048576 is not an "
                                "answers file or a script")


@pytest.mark.parametrize("body,said", [
    (b"break stage2_start\n\xff\xfe\n", "lab/scripts/03-dap.gdb line 2, byte 1 of the line: "
                                        "0xff is not UTF-8"),
    (b"tbreak stage2_start\ncontinue\nquit\n", "ended the GDB session before the grader could "
                                              "look at the machine"),
    (b"tbreak stage2_start\ncontinue\nkill\n", "ended the guest (does it `kill`?"),
    (b"set $i = 0\nwhile 1\n  set $i = $i + 1\nend\n", "did not finish within 10 s"),
])
def test_scripts_that_cannot_run_say_why(tmp_path, body, said):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "03-dap.gdb").write_bytes(body)
    answers = tmp_path / "answers.txt"
    answers.write_text("")
    p = grade(answers, scripts, ex="3")
    no_traceback(p)
    line = next(l for l in p.stdout.splitlines() if "lab/scripts/03-dap.gdb stops" in l)
    assert said in line, p.stdout


# ---- IMAGE=, KERNEL=, SYMS= --------------------------------------------------------------

def debug(*options, commands="quit\n", timeout=60):
    return subprocess.run(["make", "-s", "debug", *options], cwd=ROOT, input=commands,
                          capture_output=True, text=True, timeout=timeout)


def test_image_fifo_and_kernel_device_are_refused_before_opening(tmp_path):
    fifo = tmp_path / "disk.img"
    os.mkfifo(fifo)
    p = debug(f"IMAGE={fifo}", timeout=30)
    assert p.returncode != 0
    assert f"bootlab: IMAGE={fifo} is a FIFO (named pipe): give a regular file" in p.stderr
    p = debug("KERNEL=/dev/zero", timeout=30)
    assert "bootlab: KERNEL=/dev/zero is a device: give a regular file" in p.stderr
    no_traceback(p)


def test_a_bzimage_given_as_image_says_kernel(tmp_path):
    g = __import__("guests.own", fromlist=["build"]).build(tmp_path)
    p = debug(f"IMAGE={g['bzimage.bin']}")
    assert p.returncode != 0
    assert (f"bootlab: IMAGE={g['bzimage.bin']} is a Linux kernel (bzImage: \"HdrS\" at 0x202), "
            f"not a disk image: boot it with KERNEL={g['bzimage.bin']}") in p.stderr


def test_paths_with_blanks_quotes_and_commas_boot(tmp_path):
    odd = tmp_path / "it's a disk, really.img"
    odd.write_bytes((BUILD / "bootlab.img").read_bytes())
    p = debug(f"IMAGE={odd}", commands="info registers cs\nquit\n")
    no_traceback(p)
    assert "a disk of" in p.stderr, p.stderr
    assert "boot_start" not in p.stdout         # no bootlab symbols with IMAGE=
    assert re.search(r"^\(gdb\) cs\s+0x0\s", p.stdout, re.M), p.stdout


# ---- numbers that used to wrap --------------------------------------------------------------

def test_bl_numbers_are_range_checked(image):
    cmds = ["bl phys -1", "bl phys 0 0", "bl phys 0xfffffffffffffff0 32", "bl idt -1",
            "bl idt 0 -5", "bl idt 300", "bl idt 255 0", "bl next-mode -1",
            "set bootlab context-lines 100000", "show bootlab context-lines", "bl walk -1"]
    t = driver.run_gdb(image, ["break kmain", "continue"] + cmds, setup=SYMBOLS)
    assert "physical address -1 is out of range (0..0xfffffffffffff)" in t.out("bl phys -1")
    assert "length 0 is out of range (1..65536)" in t.out("bl phys 0 0")
    assert "is out of range" in t.out("bl phys 0xfffffffffffffff0 32")
    assert "vector -1 is out of range (0..255)" in t.out("bl idt -1")
    assert "count -5 is out of range (1..256)" in t.out("bl idt 0 -5")
    assert "vector 300 is out of range (0..255)" in t.out("bl idt 300")
    assert "count 0 is out of range (1..256)" in t.out("bl idt 255 0")
    assert "step count -1 is out of range (1..1000000000)" in t.out("bl next-mode -1")
    assert "bootlab context-lines is 64." in t.out("show bootlab context-lines")
    assert "address -1 is out of range" in t.out("bl walk -1")
    for c in cmds:
        assert "Traceback" not in t.out(c), c


# ---- ports -------------------------------------------------------------------------------------

def test_two_qemu_gdb_at_once_on_one_port_one_says_busy(image):
    """The port is bound before QEMU starts: the second one is refused by
    name, there is no race to lose inside QEMU."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen(["make", "-s", "qemu-gdb", f"GDBPORT={port}",
                               "QEMU_ARGS=-display none"], cwd=ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            time.sleep(0.05)
        loser = next(p for p in procs if p.poll() is not None)
        err = loser.stderr.read()
        assert f"bootlab: port {port} on 127.0.0.1 is busy" in err, err
        assert "Address already in use" not in err
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# ---- deaths are clean ------------------------------------------------------------------------

def wait_gone(pids, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path("/proc/%d" % p).exists()
                 and Path("/proc/%d/stat" % p).read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def descendants_named(pid, names):
    from conftest import _descendants
    out = []
    for d in _descendants(pid):
        try:
            if Path("/proc/%d/comm" % d).read_text().strip().startswith(names):
                out.append(d)
        except OSError:
            pass
    return out


def test_killing_the_bochs_tour_leaves_nothing(image, private_tmp):
    p = subprocess.Popen([PY, "-m", "bootlab.bochs.tourcli", "-q"], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    bochs = []
    while time.monotonic() < deadline and not bochs:
        bochs = descendants_named(p.pid, ("bochs",))
        time.sleep(0.01)
    p.kill()
    p.wait()
    assert bochs, "Bochs never started"
    assert not wait_gone(bochs), "Bochs outlived its driver"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and list(Path(private_tmp).glob("bootlab-bochs-*")):
        time.sleep(0.05)
    assert not list(Path(private_tmp).glob("bootlab-bochs-*")), "the run directory stayed"


def test_killing_make_during_grade_ends_grade_and_its_emulators(image, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("")
    p = subprocess.Popen(["make", "-s", "grade", "EX=2"], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    kids = []
    while time.monotonic() < deadline and not kids:
        kids = descendants_named(p.pid, ("qemu-system", "gdb"))
        time.sleep(0.02)
    grader = descendants_named(p.pid, ("python3",))
    p.kill()                      # SIGKILL: make cannot pass anything on
    p.wait()
    assert kids, "no session started"
    assert not wait_gone(grader + kids, 10), "the grader or its emulators outlived make"


def test_a_bochs_killed_under_the_tour_is_named(image, tmp_path):
    out = tmp_path / "tour.txt"
    p = subprocess.Popen([PY, "-m", "bootlab.bochs.tourcli", "-q", "--out", str(out)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    bochs = []
    while time.monotonic() < deadline and not bochs:
        bochs = descendants_named(p.pid, ("bochs",))
    os.kill(bochs[0], signal.SIGKILL)
    p.communicate(timeout=30)
    text = out.read_text()
    if "transitions in order" in text:
        pytest.skip("the tour finished before Bochs could be killed")
    assert re.search(r"tour-bochs: FAILED: .*Bochs was killed by signal 9 \(SIGKILL\)", text), text


def test_a_stale_lock_beside_a_running_qemu_is_removed(image):
    """A Bochs lock left in build/ while `make debug`'s QEMU has the image
    open: QEMU is no Bochs, the lock is stale."""
    lock = BUILD / "bootlab.img.lock"
    lock.write_bytes(b"")
    t = driver.run_gdb(image, ["info registers rip"])       # a QEMU holding the image...
    p = subprocess.Popen(["make", "-s", "run-bochs"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    out, _ = p.communicate(timeout=120)
    assert "removed stale lock build/bootlab.img.lock" in out, out
    assert "Bochs run ended in debug_exit(DEBUG_EXIT_SUCCESS)" in out
    assert not lock.exists()


def test_the_tour_names_a_triple_fault(tmp_path):
    p = subprocess.run(["make", "-s", f"B={tmp_path}", "BUG=gdt-limit", "tour"], cwd=ROOT,
                       capture_output=True, text=True, timeout=150)
    assert p.returncode != 0
    transcript = (tmp_path / "tour.txt").read_text()
    assert re.search(r"^tour: on the way to pm_entry, the machine shut down \(QEMU: "
                     r"paused \(shutdown\)\): the CPU asked for a reset, as a triple fault does",
                     transcript, re.M), transcript


def test_only_our_own_emulators_count(image):
    """A QEMU of someone else's (re-parented to init, without this test
    run's mark in its environment) is not ours, even when its command line
    names this checkout: a learner's `make debug` beside `make check`."""
    env = {k: v for k, v in os.environ.items() if k != "BOOTLAB_TEST_RUN"}
    since = _now_ticks()
    sh = subprocess.run(["sh", "-c", "qemu-system-x86_64 -display none -S -drive "
                         "file=\"$1\",format=raw,snapshot=on </dev/null >/dev/null 2>&1 & "
                         "echo $!", "sh", str(image)],
                        env=env, capture_output=True, text=True, timeout=10)
    foreign = int(sh.stdout.strip())
    try:
        assert foreign not in [pid for pid, _ in _emulators(since)]
    finally:
        os.kill(foreign, signal.SIGKILL)


def start_trace(tmp_path):
    """make trace's driver on a long run (BIOS=1, every BIOS instruction
    stepped), and the QEMU and GDB it started, once it is stepping."""
    p = subprocess.Popen([PY, "-m", "bootlab.trace.main", "--bios", "--out",
                          str(tmp_path / "trace.txt")], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    qemu = gdb = []
    while time.monotonic() < deadline and not (qemu and gdb):
        qemu, gdb = descendants_named(p.pid, ("qemu-system",)), descendants_named(p.pid, ("gdb",))
        time.sleep(0.02)
    assert qemu and gdb, "the trace started no QEMU or no GDB"
    time.sleep(0.5)           # into the steps
    return p, qemu, gdb


def test_a_qemu_killed_under_the_trace_ends_it_in_one_line(image, tmp_path):
    p, qemu, gdb = start_trace(tmp_path)
    os.kill(qemu[0], signal.SIGKILL)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert "Traceback" not in out + err, out + err
    lines = [l for l in err.splitlines() if l.startswith("trace:")]
    assert len(lines) == 1 and "QEMU was killed by signal 9" in err, err
    assert not wait_gone(gdb), "the symbol GDB outlived the trace"


def test_sigterm_to_the_trace_leaves_nothing(image, tmp_path):
    p, qemu, gdb = start_trace(tmp_path)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0
    assert "Traceback" not in out + err, out + err
    assert not wait_gone(qemu + gdb), "QEMU or GDB outlived the trace"
