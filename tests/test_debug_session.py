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
    assert re.search(r"Temporary breakpoint 1, boot_start \(\) at boot/boot\.asm:\d+", session)
    assert "-- bootlab: real, paging off -- 0000:7c00 (linear 0x7c00)" in session
    assert re.search(r'Line \d+ of "boot/boot\.asm" starts at address 0x7c00 <boot_start>', session)


def test_bios_handoff_registers(session):
    assert re.search(r"^cs\s+0x0\s+0$", session, re.M)
    assert re.search(r"^dl\s+0x80\s+-128$", session, re.M), "DL = first hard disk"


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
