"""`layout bootlab` in a real terminal: GDB started as `make debug` starts it,
inside a private tmux server, driven with send-keys and read back with
capture-pane, the way a learner sees it.

One session walks the boot (0x7c00, pm_entry, debug_exit) and takes a
snapshot of the screen at each step; the tests assert on the snapshots.
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, _descendants, vga_text

from guests import driver

COLS, ROWS = 160, 50
SMALL = (60, 15)
WAIT = 20            # seconds for any one screen to appear (a loaded machine)
POLL = 0.05
VGA_BYTES = 80 * 25 * 2
PYTHON_ERRORS = ("Traceback", "Python Exception")


class Tmux:
    """A tmux server of our own (its own socket, no configuration file)."""

    def __init__(self, socket):
        self.socket = socket
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]

    def __call__(self, *args, check=True):
        return subprocess.run(self.base + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=10, check=check)

    def keys(self, line):
        self("send-keys", "-l", line)
        self("send-keys", "Enter")

    def screen(self, color=False):
        """The pane's text; with color, with the escapes of its colours."""
        return self("capture-pane", "-p", *(["-e"] if color else [])).stdout

    def wait(self, ok, what, color=False):
        """The screen once ok(screen) holds and two captures agree (GDB's
        TUI draws in pieces); a failed test, with the last screen, if the
        bound runs out."""
        deadline = time.monotonic() + WAIT
        last = None
        while True:
            text = self.screen(color)
            if ok(text) and text == last:
                return text
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; the screen:\n%s" % (what, text))
            last = text
            time.sleep(POLL)


def window(screen, title):
    """The text inside the TUI window whose title starts with `title`:
    the rows below its top border, cut to its columns."""
    lines = screen.splitlines()
    for top, line in enumerate(lines):
        col = line.find("┌─" + title)
        if col >= 0:
            break
    else:
        return []
    right = lines[top].find("┐", col)
    rows = []
    for line in lines[top + 1:]:
        if line[col:col + 1] != "│":
            break
        rows.append(line[col + 1:right].rstrip())
    return rows


def state(screen):
    return "\n".join(window(screen, "bootlab CPU state"))


def asm_rows(screen):
    """(address, mnemonic) in GDB's assembly window from the current
    instruction (marked >) down."""
    rows = []
    for line in window(screen, ""):
        m = re.match(r"^(B\+)?\s*(>)?\s*0x([0-9a-f]+) <[^>]*>\s+(\S+)", line)
        if m and (rows or m.group(2)):
            rows.append((int(m.group(3), 16), m.group(4)))
    return rows


def escapes_before(screen, text):
    """The SGR parameters (colours, bold) in effect where text starts: those
    of the escapes right before it on its line."""
    for line in screen.splitlines():
        i = line.find(text)
        if i >= 0:
            m = re.search(r"(?:\x1b\[[0-9;]*m)+$", line[:i])
            return set(";".join(re.findall(r"\x1b\[([0-9;]*)m", m.group(0))).split(";")) \
                if m else set()
    return None


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


def running(pid):
    """pid exists and is not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gdb_command(tmp):
    """What the Makefile's `debug` target runs: bootlab's launcher, which
    starts QEMU and then GDB in the terminal's foreground (its logs and
    history go to a build directory of the test's own, with the lab's
    symbols linked in)."""
    b = tmp / "build"
    b.mkdir(exist_ok=True)
    for name in ("bootlab.img", "boot16.elf", "boot32.elf", "kernel.elf"):
        (b / name).symlink_to(BUILD / name)
    return ["env", f"BOOTLAB_BUILD={b}", "/usr/bin/python3", "-m", "bootlab.cli", "debug"]


@pytest.fixture(scope="module")
def snaps(image, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tui")
    tmux = Tmux(tmp / "tmux.sock")
    shots, qemu = {}, []
    tmux("new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-c", str(ROOT),
         *gdb_command(tmp))
    gdb_pid = int(tmux("display-message", "-p", "#{pane_pid}").stdout)
    try:
        tmux.wait(lambda s: "0000:7c00 (linear 0x7c00)" in s and "(gdb)" in s, "the stop at 0x7c00")
        qemu = [p for p in _descendants(gdb_pid) if comm(p).startswith("qemu-system")]
        tmux.keys("layout bootlab-asm")
        shots["asm16"] = tmux.wait(lambda s: asm_rows(s), "the assembly window")
        tmux.keys("layout bootlab")
        shots["7c00"] = tmux.wait(lambda s: "mode:   real" in state(s) and "┌─boot/boot.asm" in s,
                                  "the real-mode state and the source")

        # As in the README: from the source layout, on to pm_entry.
        tmux.keys("break pm_entry")
        tmux.keys("continue")
        shots["pm_entry"] = tmux.wait(lambda s: "protected" in state(s) and "┌─boot/pm32.asm" in s,
                                      "protected mode and its source")
        tmux.keys("layout bootlab-asm")
        shots["asm32"] = tmux.wait(lambda s: asm_rows(s), "the assembly window")
        tmux.keys("layout bootlab")

        tmux.keys("break debug_exit")
        tmux.keys("continue")
        shots["debug_exit"] = tmux.wait(lambda s: "In: debug_exit" in s, "the stop at debug_exit")
        shots["debug_exit_color"] = tmux.screen(color=True)
        # The same live memory, read by GDB itself, not through bootlab.
        dump = tmp / "vga.bin"
        tmux.keys(f"dump binary memory {dump} 0xb8000 {0xb8000 + VGA_BYTES:#x}")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not (dump.exists()
                                                   and dump.stat().st_size == VGA_BYTES):
            time.sleep(POLL)
        shots["vga_memory"] = dump.read_bytes() if dump.exists() else b""

        # A stop with no prompt after it: the guest runs in the background.
        tmux.keys("continue &")
        shots["running"] = tmux.wait(lambda s: "running" in state(s), "the running line")
        tmux.keys("interrupt")
        shots["interrupted"] = tmux.wait(lambda s: "mode:" in state(s), "the state after interrupt")
        tmux.keys("print/x $pc")   # GDB's own word on where the CPU stopped
        shots["pc"] = tmux.wait(lambda s: re.search(r"^\$\d+ = 0x", s, re.M), "the pc")

        first_row = vga_text(shots["vga_memory"])[0] if shots["vga_memory"] else "?"
        tmux.keys("set bootlab color off")
        shots["plain"] = tmux.wait(lambda s: "32" not in (escapes_before(s, first_row) or {"32"}),
                                   "plain colours", color=True)

        tmux("resize-window", "-x", str(SMALL[0]), "-y", str(SMALL[1]))
        tmux.keys("bl mode")
        shots["small"] = tmux.wait(lambda s: "rows 1-" in s and len(s.splitlines()) == SMALL[1],
                                   "the clipped windows")
        tmux("resize-window", "-x", str(COLS), "-y", str(ROWS))

        tmux.keys("kill")
        shots["killed"] = tmux.wait(lambda s: "no live target" in state(s), "the no-target line")
        shots["alive"] = tmux("has-session", check=False).returncode == 0
        yield shots
    finally:
        tmux("kill-server", check=False)
        tmux.socket.unlink(missing_ok=True)
        deadline = time.monotonic() + 10
        left = []
        while time.monotonic() < deadline:
            left = [p for p in [gdb_pid, *qemu] if running(p)]
            if not left:
                break
            time.sleep(POLL)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"GDB or QEMU outlived the tmux server: {left}"


def no_python_errors(screen):
    return not any(e in screen for e in PYTHON_ERRORS)


def test_real_mode_at_7c00(snaps):
    screen = snaps["7c00"]
    text = state(screen)
    assert "mode:   real" in text, screen
    assert "at:     0000:7c00 (linear 0x7c00)" in text, screen
    assert re.search(r"^CS\s+0000\s+00000000\s+0000ffff .*D=16-bit", text, re.M), screen
    assert "┌─boot/boot.asm" in screen, "the source window shows the boot sector"
    assert no_python_errors(screen)


def test_protected_mode_at_pm_entry(snaps):
    screen = snaps["pm_entry"]
    text = state(screen)
    assert "mode:   protected (32-bit)" in text, screen
    assert re.search(r"^CR0\s+0x00000011\s+\[ ET PE \]", text, re.M), screen
    assert re.search(r"^CS\s+0008 .*D=32-bit", text, re.M), screen
    assert "┌─boot/pm32.asm" in screen
    assert no_python_errors(screen)


def test_readme_capture_is_todays_screen(snaps):
    """The README's capture at pm_entry is the top of today's screen."""
    section = (ROOT / "README.md").read_text().split("## A TUI layout: layout bootlab")[1]
    blocks = re.findall(r"^```\n(.*?)^```", section.split("\n## ")[0], re.M | re.S)
    capture = [b for b in blocks if b.startswith("┌─")][0].splitlines()
    screen = [line.rstrip() for line in snaps["pm_entry"].splitlines()]
    assert screen[:len(capture)] == capture


def test_vga_window_shows_the_live_screen(snaps):
    memory = vga_text(snaps["vga_memory"])
    assert memory[0].startswith("bootlab:"), f"no banner in VGA memory: {memory[:3]}"
    shown = window(snaps["debug_exit"], "VGA text")
    assert len(shown) == 25, snaps["debug_exit"]
    assert shown == memory
    assert "mode:   64-bit" in state(snaps["debug_exit"])


def test_colors_follow_set_bootlab_color(snaps):
    memory = vga_text(snaps["vga_memory"])
    assert memory[0] and memory[1], memory[:2]
    # Attribute bytes: the banner light green (VGA colour 10: bright bit 3
    # plus green 2) on black, the next line light grey (7) on black. The TUI
    # draws bright as bold; ANSI numbers green 2 as VGA does.
    assert snaps["vga_memory"][1] == 0x0a and snaps["vga_memory"][80 * 2 + 1] == 0x07
    banner = escapes_before(snaps["debug_exit_color"], memory[0])
    assert {"1", "32", "40"} <= banner, banner
    second = escapes_before(snaps["debug_exit_color"], memory[1])
    assert "37" in second and "1" not in second, second
    plain = escapes_before(snaps["plain"], memory[0])
    assert plain is not None and not {"1", "32", "40"} & plain, plain


def test_small_terminal_clips_without_errors(snaps):
    screen = snaps["small"]
    assert len(screen.splitlines()) == SMALL[1]
    assert max(len(l) for l in screen.splitlines()) <= SMALL[0]
    assert re.search(r"rows 1-\d+/25 cols 1-\d+/80", screen), screen
    assert no_python_errors(screen), screen


def test_background_run_and_interrupt(snaps):
    assert state(snaps["running"]).strip() == "the target is running", snaps["running"]
    # Drawn at the stop itself: no prompt came after it.
    screen = snaps["interrupted"]
    pc = re.search(r"^\$\d+ = (0x[0-9a-f]+) ", snaps["pc"], re.M)
    assert pc, snaps["pc"]
    assert re.search(r"^at:\s+%s$" % pc.group(1), state(screen), re.M), screen


def test_no_live_target_is_one_line(snaps):
    assert state(snaps["killed"]).strip() == "no live target", snaps["killed"]
    assert snaps["alive"], "GDB exited"
    assert no_python_errors(snaps["killed"])


def test_asm_window_decodes_in_the_cpu_mode(snaps):
    """bootlab-asm: GDB's own assembly window, decoding through the
    extension: at 0x7c00 as 16-bit code, at pm_entry as 32-bit code, the way
    objdump decodes the same bytes for that mode."""
    for shot, binary, base, start, machine in (
            ("asm16", "boot16.bin", 0x7c00, 0x7c00, "i8086"),
            ("asm32", "boot32.bin", 0x9000, 0x9000, "i386")):
        rows = asm_rows(snaps[shot])[:6]
        ref = driver.objdump_insns(BUILD / binary, base, start, 6, machine)
        assert len(rows) == 6, snaps[shot]
        assert [a for a, _ in rows] == [a for a, _, _ in ref], (rows, ref)
        for (_, mine), (_, theirs, _) in zip(rows, ref):
            assert driver.same_mnemonic(mine, theirs), (rows, ref)


def test_layout_without_a_terminal_fails_in_one_line(image):
    proc = subprocess.run(["gdb", "-q", "-nx", "-batch", "-x", "debug/lab.gdb",
                           "-ex", "layout bootlab", "-ex", "echo still here\\n"],
                          cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)
    assert proc.stderr.splitlines() == ["Cannot enable the TUI when output is not a terminal"], \
        proc.stderr
    assert proc.stdout == "still here\n"
