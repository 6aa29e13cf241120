"""`make debug`, `make qemu-gdb` and `make gdb` as a learner runs them: the
stop at 0x7c00 with the right registers and 16-bit disassembly, the two-
terminal form on loopback only, and a clear message for a busy port."""
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT

from guests import driver

LEARNER_COMMANDS = """info registers cs dl
x/6i $pc
info line *$pc
quit
"""


def run_make(target, stdin_text, *options, timeout=60):
    return subprocess.run(["make", "-s", target, *options], cwd=ROOT, input=stdin_text,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DISPLAY": ""})


@pytest.fixture(scope="module")
def session(image):
    proc = run_make("debug", LEARNER_COMMANDS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # GDB prints its prompt before each command's output when stdin is a pipe.
    return re.sub(r"^(\(gdb\) )+", "", proc.stdout, flags=re.M)


def test_make_debug_stops_at_7c00_on_the_source_line(session):
    # The head start (bootlab/headstart.py): QEMU is at 0x7c00 when GDB
    # connects, so GDB neither shows the reset vector nor continues.
    assert re.search(r"^boot_start \(\) at boot/boot\.asm:\d+$", session, re.M), session
    assert "Continuing." not in session and "f000:fff0" not in session, session
    assert "-- bootlab: real, paging off -- 0000:7c00 (linear 0x7c00)" in session
    assert re.search(r'Line \d+ of "boot/boot\.asm" starts at address 0x7c00 <boot_start>', session)


def test_readme_shows_the_stop_at_7c00_as_it_is(session):
    """README.md's quick start shows make debug's first stop, line for line."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("In `make debug` you are at a GDB prompt")[1].split("```")[1]
    lines = [l for l in block.strip("\n").splitlines() if l != "(gdb)"]
    start = session.index(lines[0])
    assert session[start:].splitlines()[:len(lines)] == lines, session[start:]


def test_bios_handoff_registers(session):
    assert re.search(r"^cs\s+0x0\s+0$", session, re.M)
    assert re.search(r"^dl\s+0x80\s+-128$", session, re.M), "DL = first hard disk"


def run_debug(commands, *options):
    proc = run_make("debug", "\n".join(commands + ["quit"]) + "\n", *options)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return re.sub(r"^(\(gdb\) )+", "", proc.stdout, flags=re.M)


def test_break_kmain_at_7c00_shows_the_argument_and_memory_shows_memory(image):
    """At 0x7c00 the kernel is not loaded yet: `break kmain` still lands
    after the prologue (GDB reads the code from the ELF file while the
    break command runs) and the stop shows the true argument; a memory read
    at the kernel's address, before and after `break`, shows zeros."""
    out = run_debug(["x/4xb 0x10000", "break kmain", "x/4xb 0x10000",
                     "show trust-readonly-sections", "continue", "info registers rdi",
                     "x/4xb 0x10000"])
    zeros = "0x10000 <lm_entry>:\t0x00\t0x00\t0x00\t0x00"
    assert out.count(zeros) == 2, out
    assert "Breakpoint 2 at 0x10776: file kernel/kmain.c, line 69." in out, out
    # bootlab turned it on for the break command only.
    assert "Mode for reading from readonly sections is off." in out, out
    assert "Breakpoint 2, kmain (info=0x4000) at kernel/kmain.c:69" in out, out
    assert re.search(r"^rdi\s+0x4000\s", out, re.M), out
    # Loaded now: the same read shows the kernel's first bytes.
    assert "0x10000 <lm_entry>:\t0x66\t0x87\t0xdb\t0x66" in out, out


def test_without_the_head_start_gdb_runs_the_bios_and_numbers_breakpoints_alike(image):
    """BOOTLAB_HEAD_START_S=0 (as for a guest slower than the head start):
    GDB connects at the reset vector, sets breakpoint 1 at 0x7c00 and
    continues. Either way the learner's first breakpoint is number 2."""
    slow = subprocess.run(["make", "-s", "debug"], cwd=ROOT, input="break pm_entry\nquit\n",
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DISPLAY": "", "BOOTLAB_HEAD_START_S": "0"})
    assert slow.returncode == 0, slow.stdout + slow.stderr
    assert "-- bootlab: real, paging off -- f000:fff0 (linear 0xfffffff0)" in slow.stdout
    assert "Temporary breakpoint 1, boot_start () at boot/boot.asm:" in slow.stdout, slow.stdout
    assert "CR0 0x60000010 -> 0x10  (-NW -CD)" in slow.stdout, slow.stdout
    fast = run_debug(["break pm_entry"])
    for out in (slow.stdout, fast):
        assert re.search(r"Breakpoint 2 at 0x[0-9a-f]+: file boot/\w+\.asm", out), out


def test_a_head_start_that_runs_out_stops_the_guest_and_gdb_goes_on(image):
    """The guest not at the stop when the head start's time is up (here
    after a millisecond, inside the BIOS): the launcher interrupts it, and
    GDB finds it there and runs on to 0x7c00 itself."""
    p = subprocess.run(["make", "-s", "debug"], cwd=ROOT, input="info registers cs\nquit\n",
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DISPLAY": "", "BOOTLAB_HEAD_START_S": "0.001"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Temporary breakpoint 1, boot_start () at boot/boot.asm:" in p.stdout, p.stdout
    assert "-- bootlab: real, paging off -- 0000:7c00 (linear 0x7c00)" in p.stdout
    assert re.search(r"^cs\s+0x0\s", p.stdout.replace("(gdb) ", ""), re.M), p.stdout


def test_stop_reset_gives_the_prompt_at_the_reset_vector(image):
    out = run_debug(["info registers cs rip", "bl seg", "x/2xb 0x7c00 + 510"], "STOP=reset")
    assert "Temporary breakpoint 1" not in out
    assert "bootlab: stopped at the reset vector, before the BIOS has run (STOP=reset)" in out
    assert "-- bootlab: real, paging off -- f000:fff0 (linear 0xfffffff0)" in out, out
    assert re.search(r"^cs\s+0xf000\s", out, re.M) and re.search(r"^rip\s+0xfff0\s", out, re.M)
    assert re.search(r"^CS\s+f000\s+00000000ffff0000\s", out, re.M), out
    # Before the BIOS: no boot sector at 0x7c00 yet.
    assert "0x7dfe:\t0x00\t0x00" in out, out


def test_stop_takes_only_reset(image):
    proc = run_make("debug", "", "STOP=kmain")
    assert proc.returncode != 0
    assert "bootlab: STOP=kmain: make debug knows STOP=reset" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_disassembly_at_7c00_is_16_bit_like_objdump(session):
    mine = [i for i in driver.gdb_insns(session) if i[0] >= 0x7c00][:6]
    ref = driver.objdump_insns(BUILD / "boot16.bin", 0x7c00, 0x7c00, 6, "i8086")
    assert len(mine) == 6, session
    for (a1, m1, o1), (a2, m2, o2) in zip(mine, ref):
        assert a1 == a2, (mine, ref)
        assert driver.same_mnemonic(m1, m2), (a1, m1, m2)
        assert driver.operand_facts(o1) == driver.operand_facts(o2), (a1, o1, o2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port):
    """Local addresses (hex, as in /proc/net/tcp) listening on port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.rsplit(":", 1)
            if int(p, 16) == port and state == "0A":  # 0A = LISTEN
                found.append(addr)
    return found


def read_until(proc, pattern, timeout):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(deadline - time.monotonic()):
            break
        chunk = os.read(proc.stdout.fileno(), 4096).decode()
        if not chunk:
            break
        seen += chunk
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"no {pattern!r} within {timeout} s; got:\n{seen}")


def test_two_terminal_form_listens_on_loopback_only(image):
    port = free_port()
    qemu = subprocess.Popen(["make", "-s", "qemu-gdb", f"GDBPORT={port}",
                             "QEMU_ARGS=-display none"], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        said = read_until(qemu, r"in another terminal, run: make gdb", 20)
        assert f"gdbstub on 127.0.0.1:{port}" in said
        # A port of one's own choosing: the hint says to give it to make gdb too.
        assert f"in another terminal, run: make gdb GDBPORT={port}" in said
        deadline = time.monotonic() + 10
        while not listening_addresses(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listening_addresses(port) == ["0100007F"], "127.0.0.1 only"
        gdb = run_make("gdb", "info registers cs\nkill\nquit\n", f"GDBPORT={port}")
        assert re.search(r"boot_start \(\) at boot/boot\.asm:\d+", gdb.stdout), gdb.stdout
        qemu.wait(timeout=10)  # `kill` in GDB ends QEMU
    finally:
        if qemu.poll() is None:
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait()


def test_busy_port_is_explained(image):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_make("qemu-gdb", "", f"GDBPORT={port}")
    assert proc.returncode != 0
    assert (f"bootlab: port {port} on 127.0.0.1 is busy (another make qemu-gdb?); "
            "stop that, or choose another: GDBPORT=N") in proc.stderr
    assert "Traceback" not in proc.stderr
