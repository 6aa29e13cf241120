"""The link between GDB and QEMU, for every way the project makes one: a
monitor command printing 100,000 lines comes through in bounded time (over
`target remote | exec qemu ... -gdb stdio` such a command hung GDB and QEMU
for good past ~650 lines), and nothing listens beyond loopback."""
import re
import subprocess
import sys

import pytest

from bootlab import project, session
from bootlab.qemu import cmdline
from conftest import BUILD, ROOT, make

LINES = 100000
# `xp/Nxg` prints two quadwords a line.
BIG = "monitor xp/%dxg 0" % (2 * LINES)
COUNT = ("python print('LINES %%d' %% len(gdb.execute(%r, to_string=True).splitlines()))" % BIG)
LIMIT_S = 60


def lines_seen(output):
    m = re.search(r"LINES (\d+)$", output, re.M)
    return int(m.group(1)) if m else None


def test_session_link_takes_a_huge_monitor_output(image, tmp_path):
    """bootlab.session: what make debug, the tour, the grader, the
    cross-check and the tests use."""
    machine = cmdline.Machine(disk=image)
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log") as qemu:
        argv = cmdline.gdb(batch=True, commands=[qemu.target, COUNT, "kill"])
        result = session.batch_gdb(qemu, argv, LIMIT_S)
    assert not result.timed_out, result.output[-2000:]
    assert lines_seen(result.output) == LINES, result.output[-2000:]


def test_two_terminal_link_takes_a_huge_monitor_output(image):
    """make qemu-gdb (QEMU on a fixed loopback port) and make gdb."""
    from test_debug_session import free_port, read_until
    port = free_port()
    qemu = subprocess.Popen(["make", "-s", "qemu-gdb", f"GDBPORT={port}",
                             "QEMU_ARGS=-display none"], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        read_until(qemu, r"in another terminal, run: make gdb", 20)
        gdb = subprocess.run(["make", "-s", "gdb", f"GDBPORT={port}"], cwd=ROOT,
                             input=COUNT + "\nkill\nquit\n", capture_output=True, text=True,
                             timeout=LIMIT_S)
        assert lines_seen(gdb.stdout) == LINES, gdb.stdout[-2000:] + gdb.stderr
        qemu.wait(timeout=10)
    finally:
        if qemu.poll() is None:
            import os
            import signal
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait()


def test_replay_relay_takes_a_huge_monitor_output(image, tmp_path):
    """make debug-rr: GDB talks to the relay, the relay to a replaying QEMU
    over pipes; the relay queues what QEMU does not read yet."""
    make("record", f"RR_DIR={tmp_path / 'rr'}")
    relay = session.Qemu(lambda fd: [sys.executable, "-m", "bootlab.rr.replay",
                                     str(tmp_path / "rr"), "--listen-fd", str(fd)],
                         tmp_path / "relay.log")
    with relay:
        argv = cmdline.gdb(batch=True, commands=[relay.target, COUNT, "kill"])
        result = session.batch_gdb(relay, argv, LIMIT_S, cwd=ROOT)
    assert not result.timed_out, result.output[-2000:]
    assert lines_seen(result.output) == LINES, result.output[-2000:]


def test_the_port_is_chosen_by_the_kernel_and_bound_before_qemu(tmp_path):
    """Two sessions at once get two ports, both on 127.0.0.1, each bound by
    bootlab before QEMU starts (so nobody can take it in between)."""
    machine = cmdline.Machine(disk=BUILD / "bootlab.img")
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "a.log") as a, \
            session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "b.log") as b:
        assert a.port != b.port
        assert a.target.startswith("target remote 127.0.0.1:")
        assert "-s" not in a.argv and not any(w.startswith("tcp:") for w in a.argv)


def test_a_qemu_that_cannot_start_says_why(tmp_path):
    """QEMU refusing an option dies at once; its own words are shown."""
    machine = cmdline.Machine(disk=BUILD / "bootlab.img", extra=["-no-such-option"])
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log") as qemu:
        argv = cmdline.gdb(batch=True, commands=[qemu.target, "info registers rip"])
        result = session.batch_gdb(qemu, argv, 30)
    assert "bootlab: QEMU exited with status 1; its last words" in result.output, result.output
    assert "invalid option" in result.output


def test_ending_a_session_whose_qemu_is_gone_is_quiet(image, tmp_path):
    """QEMU killed under GDB (as under load it can exit before GDB's last
    acknowledgement of `kill`): the scripts' end_session, and `quit` through
    lab.gdb's hook, end quietly."""
    machine = cmdline.Machine(disk=image)
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log") as qemu:
        kill_qemu = "python import os, signal; os.kill(%d, signal.SIGKILL)" % qemu.proc.pid
        argv = cmdline.gdb(batch=True, commands=[
            qemu.target, "info registers rip", kill_qemu, "info registers rip",
            "python import bootlab.gdbext.scripting as s; s.end_session(); print('ENDED')"])
        result = session.batch_gdb(qemu, argv, 30)
    assert "ENDED" in result.output, result.output
    assert "Traceback" not in result.output, result.output


def test_the_tracers_own_link_takes_a_huge_monitor_output(image, tmp_path):
    """bootlab.remote (make trace steps with it, no GDB in between): the
    monitor's O packets are read as they come, within one bound."""
    from bootlab import remote
    import time
    machine = cmdline.Machine(disk=image)
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log") as qemu:
        target = remote.Remote(qemu.port)
        t0 = time.monotonic()
        text = target.monitor(BIG.split(" ", 1)[1])
        seconds = time.monotonic() - t0
        # The link still works after it: the same registers as before.
        assert target.registers(["rip", "cs"]) == {"rip": 0xfff0, "cs": 0xf000}
        target.close()
    assert len(text.splitlines()) == LINES
    assert text.splitlines()[-1].startswith("%016x:" % ((2 * LINES - 2) * 8))
    assert seconds < LIMIT_S
