"""make debug in a real terminal (tmux), as a learner uses it: Ctrl-C stops
the guest and reaches GDB alone (make and the launcher go on; QEMU lives),
and quitting GDB ends make with status 0 and QEMU with it."""
import re

import pytest

from conftest import ROOT
from test_gdb_tui import Tmux


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path / "tmux.sock")
    yield t
    t("kill-server", check=False)


def test_ctrl_c_reaches_gdb_not_make(image, tmux, tmp_path):
    tmux("new-session", "-d", "-x", "120", "-y", "40", "-c", str(ROOT),
         "make -s debug; echo MAKE_STATUS=$?; sleep 30")
    first = tmux.wait(lambda s: "Temporary breakpoint 1, boot_start" in s and "(gdb)" in s,
                      "the stop at 0x7c00")
    assert "(gdb)" in first, first
    tmux.keys("continue")
    tmux.wait(lambda s: "Continuing." in s, "the guest running")
    tmux("send-keys", "C-c")
    stopped = tmux.wait(lambda s: "received signal SIGINT" in s and s.rstrip().endswith("(gdb)"),
                        "GDB back at its prompt")
    assert "received signal SIGINT" in stopped, stopped
    assert "MAKE_STATUS" not in stopped, "Ctrl-C reached make: " + stopped
    tmux.keys("info registers cs")
    after = tmux.wait(lambda s: re.search(r"^cs\s+0x", s, re.M), "GDB still talking to QEMU")
    assert re.search(r"^cs\s+0x", after, re.M), after
    tmux.keys("quit")
    done = tmux.wait(lambda s: "MAKE_STATUS=" in s, "make's end")
    assert "MAKE_STATUS=0" in done, done
    assert "Traceback" not in done
