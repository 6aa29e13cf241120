"""make record / make debug-rr: a recorded boot replayed under GDB, driven
the way a learner does (commands typed into make debug-rr's GDB).

What is checked comes from the same replay going forward (where each
milestone is, in which mode, at which instruction count), so the backward
moves are held against the machine, not against constants from the code."""
import json
import re
import socket
import sys
import subprocess

import pytest

from conftest import BUILD, ROOT

RR_DIR = BUILD / "rr"
MARK = "@@"


def debug_rr(commands, *options, timeout=120):
    """Run make debug-rr with these GDB commands on its stdin; returns
    {marker: text printed after `echo @@marker`} and the whole output."""
    script = "".join(c + "\n" for c in commands) + "kill\nquit\n"
    proc = subprocess.run(["make", "-s", "debug-rr", *options], cwd=ROOT, input=script,
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    parts = {}
    for chunk in out.split(MARK)[1:]:
        name, _, text = chunk.partition("\n")
        parts[name.strip()] = text
    return parts, out


def mark(name):
    return "echo %s%s\\n" % (MARK, name)


def count(text):
    m = re.search(r"replaying \S+: instruction (\d+)", text)
    assert m, text
    return int(m.group(1))


def mode_of(text):
    m = re.search(r"^(?:\(gdb\) )*mode:\s+(.+)$", text, re.M)
    assert m, text
    return m.group(1).strip()


MILESTONES = ["boot_start", "pm_entry", "lm_entry", "kmain"]


@pytest.fixture(scope="module")
def session(image):
    """One replay session: forward through the milestones, then back."""
    cmds = ["delete"]                          # make's own stop at 0x7c00 is done
    cmds += ["break %s" % m for m in MILESTONES[1:]]
    for m in MILESTONES[1:]:                   # forward: where and in which mode
        cmds += ["continue", mark("fwd " + m), "bl mode", "bl replay"]
    cmds += ["break boot_start"]
    for m in reversed(MILESTONES[:-1]):        # back from kmain to 0x7c00
        cmds += [mark("rev-stop " + m), "reverse-continue", mark("rev " + m),
                 "bl mode", "bl replay"]
    cmds += [mark("start"), "reverse-continue", mark("at start"), "bl replay",
             "info registers rip cs"]
    # reverse-stepi back across the far jump into protected mode
    cmds += ["delete", "break pm_entry", "continue", "reverse-stepi", mark("rsi"),
             "bl mode", "x/i $bl_pc()"]
    # reverse-next over a call (GDB steps back over it with a breakpoint)
    cmds += ["delete", "tbreak idt_init", "continue", "finish", mark("after call"),
             "info line *$pc", "reverse-next", mark("rnext"), "info line *$pc"]
    # the last write to VGA cell 0 before debug_exit, by a watchpoint backwards
    cmds += ["delete", "break debug_exit", "continue", mark("end cell"),
             "p/x *(unsigned short *)0xb8000", "bl replay",
             "watch -l *(unsigned short *)0xb8000", "reverse-continue", mark("writer"),
             "bl replay", "p/x $pc", "x/i $pc", "p/x *(unsigned short *)0xb8000",
             "stepi", mark("after write"), "p/x *(unsigned short *)0xb8000", "bl replay",
             mark("no later write"), "continue"]
    # off the end of the recording
    cmds += ["delete", mark("to end"), "continue", mark("end"), "bl replay"]
    return debug_rr(cmds)


def test_record_writes_a_recording(session):
    meta = json.loads((RR_DIR / "recording.json").read_text())
    assert meta["ended"] == "halted", meta       # the kernel ends in cli; hlt
    assert meta["end_icount"] > 0
    assert (RR_DIR / "replay.bin").stat().st_size > 0
    assert not list((RR_DIR / "sessions").iterdir()), "replay session left behind"


def test_reverse_continue_walks_the_mode_switches_back(session):
    parts, out = session
    fwd = {m: (mode_of(parts["fwd " + m]), count(parts["fwd " + m])) for m in MILESTONES[1:]}
    assert fwd["pm_entry"][0] == "protected (32-bit)"
    assert fwd["kmain"][0] == "64-bit"
    # Going back from kmain, each reverse-continue stops at the previous
    # milestone: in the mode and at the instruction count seen going forward.
    for m in ("lm_entry", "pm_entry"):
        text = parts["rev " + m]
        assert (mode_of(text), count(text)) == fwd[m], text
    back = parts["rev boot_start"]
    assert mode_of(back) == "real"
    assert count(back) < fwd["pm_entry"][1]
    # The mode messages name the transitions undone, newest first.
    undone = re.findall(r"bootlab: mode (.+?) -> (.+?) \(going back\)", out)
    assert undone[:2] == [("64-bit", "protected (32-bit)"), ("protected (32-bit)", "real")], undone


def test_reverse_continue_stops_at_the_start_of_the_recording(session):
    parts, _ = session
    assert "No more reverse-execution history." in parts["start"]
    assert count(parts["at start"]) == 0
    # The reset vector: CS=f000, IP=fff0 (SDM Vol. 3A, 9.1.4).
    assert re.search(r"rip\s+0xfff0\b", parts["at start"])
    assert re.search(r"cs\s+0xf000\b", parts["at start"])


def test_reverse_stepi_goes_back_across_the_far_jump(session):
    parts, _ = session
    text = parts["rsi"]
    assert mode_of(text) == "protected (16-bit)"     # CR0.PE set, CS not reloaded
    assert re.search(r"ljmp", text), text


def test_reverse_next_steps_back_over_a_call(session):
    parts, _ = session
    after = re.search(r'Line (\d+) of "kernel/kmain.c"', parts["after call"])
    back = re.search(r'Line (\d+) of "kernel/kmain.c"', parts["rnext"])
    assert after and back, parts["rnext"]
    assert int(back.group(1)) < int(after.group(1))


def test_reverse_watchpoint_finds_the_last_write_to_a_vga_cell(session):
    parts, _ = session
    final = re.search(r"= (0x[0-9a-f]+)", parts["end cell"]).group(1)
    end = count(parts["end cell"])
    writer = parts["writer"]
    at = count(writer)
    assert at < end
    # Stopped on a store, before it: one step later the cell holds its final
    # value, at the next instruction count...
    assert re.search(r"=> 0x[0-9a-f]+ .*mov\w*\s+%\w+,\s*\(", writer), writer
    assert re.search(r"= (0x[0-9a-f]+)", parts["after write"]).group(1) == final
    assert count(parts["after write"]) == at + 1
    # ...and going forward again nothing changes it before debug_exit.
    assert re.search(r"Breakpoint \d+, debug_exit", parts["no later write"]), \
        parts["no later write"]


def test_the_end_of_the_recording_is_not_crossed(session):
    parts, _ = session
    meta = json.loads((RR_DIR / "recording.json").read_text())
    assert "No more reverse-execution history." in parts["to end"]
    assert count(parts["end"]) == meta["end_icount"]


def test_replay_without_a_recording_says_so(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    with listener:
        proc = subprocess.run([sys.executable, "-m", "bootlab.rr.replay", str(tmp_path / "none"),
                               "--listen-fd", str(listener.fileno())],
                              cwd=ROOT, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, pass_fds=(listener.fileno(),))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no usable recording" in lines[0] and "make record" in lines[0]


def test_debug_rr_refuses_a_kernel(tmp_path):
    proc = subprocess.run(["make", "-s", "debug-rr", f"KERNEL={tmp_path}/k.elf"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "bootlab: make record/debug-rr take IMAGE=, not KERNEL=" in proc.stderr


def test_a_triple_fault_ends_the_recording(variant, tmp_path):
    """BUG=gdt-limit triple-faults at the far jump into protected mode; the
    recording ends there (QEMU's -no-shutdown keeps it, paused)."""
    image = variant(BUG="gdt-limit") / "bootlab.img"
    proc = subprocess.run([sys.executable, "-m", "bootlab.rr.record", str(image), str(tmp_path / "rr")],
                          cwd=ROOT, capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "rr" / "recording.json").read_text())
    assert meta["ended"] == "shutdown", meta
    assert "the guest reset or triple-faulted" in proc.stdout


def test_readme_transcript_is_todays_output(image):
    """The README's debug-rr session, typed again today."""
    from bootlab.lab import transcript
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- transcript: make debug-rr -->\n```\n(.*?)^```$", text,
                      re.M | re.S).group(1)
    commands = [l[len("(gdb) "):] for l in block.splitlines() if l.startswith("(gdb) ")]
    _, out = debug_rr(commands)
    chunks = out.split("(gdb) ")[1:]
    actual = "".join("(gdb) %s\n%s" % (c, chunks[i] if i < len(chunks) else "")
                     for i, c in enumerate(commands))
    assert transcript.matches(block, actual), transcript.diff(block, actual)


def test_debug_rr_on_someone_elses_image(tmp_path):
    """IMAGE=: a boot sector the test builds (tests/guests), recorded and
    replayed with its own symbols; reverse-stepi from its halt goes back."""
    from guests import own
    g = own.build(tmp_path)
    parts, out = debug_rr([mark("end"), "continue", mark("back"), "reverse-stepi", "bl mode",
                           "info symbol $pc"],
                          f"B={tmp_path}/b", f"IMAGE={g['bootsector.img']}",
                          f"SYMS={g['bootsector-at-0.elf']}@0x7c00")
    assert "bootlab: recorded" in out and "ended: the CPU halted" in out, out
    assert "No more reverse-execution history." in parts["end"], out
    assert "real" in parts["back"] and "in section" in parts["back"], parts["back"]
    assert not (tmp_path / "b" / "bootlab.img").exists()
