"""`make debug IMAGE=...` and `make debug KERNEL=...` on systems bootlab knows
nothing about (tests/guests/own.py builds them), driven as a learner does:
GDB's commands come from a pipe, the checks read what GDB printed. Bad
input must stop before any emulator or debugger starts, with one line."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

from bootlab.own import check
from guests import own

TIMEOUT = 60   # generous: the machine is shared; a session takes about 0.6 s


def run_make(target, *options, commands="", merged=False, silent=True, env=None):
    """make -s TARGET OPTIONS with `commands` on stdin; merged: stderr into
    stdout, in the order a terminal shows them (GDB's errors go to stderr);
    silent=False: make echoes the GDB command as a learner sees it."""
    return subprocess.run(["make", *(["-s"] if silent else []), target, *options],
                          cwd=ROOT, input=commands,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                          text=True, timeout=TIMEOUT,
                          env={**os.environ, "DISPLAY": "", **(env or {})})


class Session:
    """One `make debug` run: what came before the first prompt (the checker's
    line, the stop), then the output of each command."""

    def __init__(self, proc, commands):
        self.text = proc.stdout
        # With stdin a pipe, GDB prints "(gdb) " before each command's output.
        chunks = proc.stdout.split("(gdb) ")
        self.stop = chunks[0]
        self.out = dict(zip(commands, chunks[1:]))
        # As a terminal shows it: each prompt followed by the command typed.
        self.screen = chunks[0] + "".join(
            "(gdb) %s\n%s" % (cmd, out) for cmd, out in zip(commands, chunks[1:]))

    def __getitem__(self, cmd):
        assert cmd in self.out, "no output for %r:\n%s" % (cmd, self.text)
        return self.out[cmd]


def debug(*options, commands, tmp, env=None):
    """make debug with options; commands then `kill` and `quit`. B= keeps
    the history and the debug console log in tmp, not in build/."""
    commands = list(commands) + ["kill"]
    proc = run_make("debug", f"B={tmp}", *options,
                    commands="\n".join(commands + ["quit"]) + "\n", merged=True, silent=False,
                    env=env)
    assert proc.returncode == 0, proc.stdout
    return Session(proc, commands)


@pytest.fixture(scope="module")
def guests(tmp_path_factory):
    return own.build(tmp_path_factory.mktemp("own"))


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("b")


# ---- IMAGE=: a boot sector with its own symbols -----------------------------

IMAGE_COMMANDS = ["info symbol $pc", "info address boot_start", "info address kmain",
                  "bl mode", "info registers cs", "break bs_done", "continue",
                  "bl vga plain"]


@pytest.fixture(scope="module")
def image_session(guests, tmp):
    # The symbol file is linked at 0: @0x7c00 moves it to where the code runs.
    return debug(f"IMAGE={guests['bootsector.img']}",
                 f"SYMS={guests['bootsector-at-0.elf']}@0x7c00",
                 commands=IMAGE_COMMANDS, tmp=tmp)


def test_image_stops_at_7c00_on_its_own_symbol(image_session):
    s = image_session
    assert re.search(r"^bs_start \(\) at bootsector\.asm:\d+$", s.stop, re.M), s.text
    assert "-- bootlab: real, paging off -- 0000:7c00 (linear 0x7c00)" in s.stop
    assert s["info symbol $pc"].startswith("bs_start in section .text")
    assert "mode:   real\n" in s["bl mode"]
    assert re.search(r"^cs\s+0x0\s+0$", s["info registers cs"], re.M)
    assert "a disk of 1 sector with a boot signature" in s.stop


def test_image_session_knows_no_bootlab_symbol(image_session):
    for name in ("boot_start", "kmain"):
        assert s_line(image_session[f"info address {name}"]) == \
            f'No symbol "{name}" in current context.'
    assert "boot16.elf" not in image_session.text


def test_image_runs_to_its_own_screen_and_debug_port(image_session, tmp):
    assert re.search(r"Breakpoint 2, bs_done \(\)", image_session["continue"])
    assert "boot sector guest: hello from real mode" in image_session["bl vga plain"]
    assert (tmp / "debugcon.log").read_text() == "boot sector guest: hello from real mode"
    assert not (tmp / "bootlab.img").exists(), "IMAGE= must not build bootlab"


def s_line(text):
    return text.strip().splitlines()[0]


# ---- KERNEL=: a Multiboot ELF32, its symbols loaded from the kernel itself --

KERNEL_COMMANDS = ["info symbol $pc", "info address boot_start", "bl mode",
                   "info registers eax", "bl gdt", "break mb_done", "continue",
                   "bl vga plain"]


@pytest.fixture(scope="module")
def kernel_session(guests, tmp):
    return debug(f"KERNEL={guests['multiboot.elf']}", commands=KERNEL_COMMANDS, tmp=tmp)


def test_kernel_stops_at_its_entry_point(kernel_session):
    s = kernel_session
    assert re.search(r"^mb_entry \(\) at multiboot\.asm:\d+$", s.stop, re.M), s.text
    assert "bootlab: mode protected (32-bit), paging off" in s.stop
    assert s["info symbol $pc"].startswith("mb_entry in section .text")
    assert "mode:   protected (32-bit)\n" in s["bl mode"]
    # Multiboot spec 3.2: the loader leaves its magic in EAX.
    assert re.search(r"^eax\s+0x2badb002\b", s["info registers eax"], re.M)
    assert "Multiboot kernel (ELF32); entry point 0x100020 (e_entry)" in s.stop
    assert s_line(s["info address boot_start"]) == 'No symbol "boot_start" in current context.'


def test_kernel_gdt_is_the_loaders(kernel_session):
    gdt = kernel_session["bl gdt"]
    assert re.search(r"^0x0008 .* code XR .* D=32-bit G=4K$", gdt, re.M), gdt


def test_kernel_runs_to_its_own_vga_write(kernel_session):
    assert re.search(r"Breakpoint 2, mb_done \(\)", kernel_session["continue"])
    screen = kernel_session["bl vga plain"]
    assert "multiboot guest: hello from 32-bit protected mode" in screen


# ---- The other -kernel formats: where each one stops -------------------------

def test_aout_kludge_kernel_stops_at_header_entry(guests, tmp):
    s = debug(f"KERNEL={guests['multiboot.bin']}", f"SYMS={guests['multiboot.elf']}",
              commands=["info symbol $pc", "bl mode"], tmp=tmp)
    assert s["info symbol $pc"].startswith("mb_entry in section .text"), s.text
    assert "mode:   protected (32-bit)\n" in s["bl mode"]
    assert "(the a.out kludge); entry_addr 0x100020" in s.stop


def test_bzimage_stops_at_real_mode_setup_entry(guests, tmp):
    s = debug(f"KERNEL={guests['bzimage.bin']}", commands=["bl mode", "info registers cs"],
              tmp=tmp)
    # CS != 0: GDB shows IP 0 alone; the display has CS:IP and the linear address.
    assert "-- bootlab: real, paging off -- 1020:0000 (linear 0x10200)" in s.stop, s.text
    assert "mode:   real\n" in s["bl mode"]
    assert re.search(r"^cs\s+0x1020\b", s["info registers cs"], re.M)
    assert "Linux bzImage (boot protocol 2.15)" in s.stop


def test_bzimage_breakpoint_at_cs_1020_is_named_without_the_head_start(guests, tmp):
    """Without make debug's head start, GDB itself runs to 1020:0000: QEMU
    reports that stop as a bare SIGTRAP at IP 0 (GDB knows no breakpoint at
    0); the extension names the breakpoint the CPU is at."""
    s = debug(f"KERNEL={guests['bzimage.bin']}", commands=["info registers cs"], tmp=tmp,
              env={"BOOTLAB_HEAD_START_S": "0"})
    assert "bootlab: Temporary breakpoint 1 at 1020:0000 (linear 0x10200)" in s.stop, s.text
    assert re.search(r"^cs\s+0x1020\b", s["info registers cs"], re.M)


def test_pvh_kernel_stops_at_note_entry(guests, tmp):
    s = debug(f"KERNEL={guests['pvh.elf']}", commands=["info symbol $pc", "bl mode"], tmp=tmp)
    assert s["info symbol $pc"].startswith("pvh_entry in section .text"), s.text
    assert "mode:   protected (32-bit)\n" in s["bl mode"]


# ---- Bad input: one line, no GDB, no emulator ----------------------------------

def _bad_inputs(g, tmp):
    truncated = tmp / "truncated.img"
    truncated.write_bytes(g["bootsector.img"].read_bytes()[:300])
    unsigned = tmp / "unsigned.img"
    unsigned.write_bytes(g["bootsector.img"].read_bytes()[:510] + b"\0\0")
    iso = bytearray(0x9000)                   # ECMA-119: descriptor at sector 16
    iso[0x8001:0x8006] = b"CD001"
    (tmp / "cd.iso").write_bytes(bytes(iso))
    iso[510:512] = b"\x55\xaa"                # isohybrid: an MBR too
    (tmp / "hybrid.iso").write_bytes(bytes(iso))
    (tmp / "disk.qcow2").write_bytes(b"QFI\xfb" + bytes(4096))
    (tmp / "kernel.deb").write_bytes(b"!<arch>\ndebian-binary   " + bytes(4096))
    return {
        "iso-as-kernel": ("debug", [f"KERNEL={tmp}/cd.iso"],
                          "it is an ISO 9660 CD image: give the kernel inside it"),
        "hybrid-iso-as-kernel": ("debug", [f"KERNEL={tmp}/hybrid.iso"],
                                 "it has an MBR (a hybrid ISO), so boot it as a disk: IMAGE="),
        "qcow2-as-kernel": ("debug", [f"KERNEL={tmp}/disk.qcow2"],
                            "it is a qcow2 disk image: convert it"),
        "deb-as-kernel": ("debug", [f"KERNEL={tmp}/kernel.deb"],
                          "(a Debian package?): extract it (dpkg-deb -x)"),
        "iso-as-image": ("debug", [f"IMAGE={tmp}/cd.iso"],
                         "it is an ISO 9660 CD image without a hybrid MBR"),
        "vmlinux-not-bzimage": ("vmlinux", [f"KERNEL={g['multiboot.elf']}"],
                                "not a Linux bzImage"),
        "missing": ("debug", [f"IMAGE={tmp}/no-such.img"],
                    f"bootlab: IMAGE={tmp}/no-such.img: no such file or directory"),
        "both": ("debug", [f"IMAGE={g['bootsector.img']}", f"KERNEL={g['multiboot.elf']}"],
                 "bootlab: IMAGE= and KERNEL= together: give one"),
        "elf64": ("debug", [f"KERNEL={g['multiboot64.elf']}"],
                  "a 64-bit ELF: QEMU's Multiboot loader takes only ELF32"),
        "truncated": ("debug", [f"IMAGE={truncated}"],
                      f"bootlab: IMAGE={truncated} has 300 bytes, less than one 512-byte sector"),
        "unsigned": ("debug", [f"IMAGE={unsigned}"], "no boot signature 55 aa at offset 510"),
        "disk-as-kernel": ("debug", [f"KERNEL={g['bootsector.img']}"],
                           "it looks like a disk image: IMAGE="),
        "syms-not-elf": ("debug", [f"IMAGE={g['bootsector.img']}", f"SYMS={g['bzimage.bin']}"],
                         "is not an ELF file"),
        "two-terminal": ("qemu-gdb", [f"KERNEL={g['multiboot64.elf']}"], "a 64-bit ELF"),
        "tour": ("tour", [f"IMAGE={g['bootsector.img']}"],
                 "bootlab: IMAGE= and KERNEL= go with make debug, qemu-gdb, gdb, run, record, debug-rr or vmlinux only"),
    }


BAD = ["missing", "both", "elf64", "truncated", "unsigned", "disk-as-kernel",
       "syms-not-elf", "two-terminal", "tour", "iso-as-kernel", "hybrid-iso-as-kernel",
       "qcow2-as-kernel", "deb-as-kernel", "iso-as-image", "vmlinux-not-bzimage"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_starts_nothing(case, guests, tmp):
    target, options, message = _bad_inputs(guests, tmp)[case]
    proc = run_make(target, f"B={tmp}", *options, commands="info registers\nquit\n")
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if "bootlab:" in line]
    assert len(ours) == 1 and message in ours[0], proc.stderr
    assert "(gdb)" not in proc.stdout and "Remote debugging" not in proc.stdout
    assert "Traceback" not in proc.stderr
    # (no emulator: the autouse fixture of conftest.py fails the test otherwise)


def test_partial_last_sector_is_a_warning(guests, tmp, capsys):
    odd = tmp / "odd.img"
    odd.write_bytes(guests["bootsector.img"].read_bytes() + b"\0" * 100)
    assert check.stop_address(image=str(odd)) == 0x7c00
    assert (f"bootlab: warning: IMAGE={odd} has 612 bytes, not a whole number of 512-byte "
            "sectors") in capsys.readouterr().err


# ---- The README's transcripts are today's output -------------------------------

README_GUESTS = "/tmp/guests"   # where the README's transcripts built the guests


def readme_transcript(command):
    """The README block of "Your own image or kernel" that starts with `$ command`."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Your own image or kernel"):text.index("## Make targets")]
    blocks, block = [], None
    for line in section.splitlines():
        if line.startswith("```") and block is None:
            block = []
        elif line.startswith("```"):
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(line)
    for block in blocks:
        if block and block[0].startswith("$ " + command):
            return block
    raise AssertionError("README has no transcript of `%s`" % command)


def check_transcript(lines, session, guests_dir):
    """Each README line, in order, in what the session showed; a line ending
    in "..." stands for its beginning; "..." alone for lines left out."""
    seen = [line.rstrip() for line in session.screen.replace(str(guests_dir), README_GUESTS)
            .splitlines()]
    at = 0
    for want in lines[1:]:
        want = want.rstrip()
        if want == "...":
            continue
        prefix = want[:-3] if want.endswith("...") else None
        for i in range(at, len(seen)):
            if (seen[i].startswith(prefix) if prefix else seen[i] == want):
                at = i + 1
                break
        else:
            raise AssertionError("README line not in the session's output (in order): "
                                 "%r\n%s" % (want, session.screen))


def test_readme_image_transcript(image_session, guests):
    lines = readme_transcript("make debug IMAGE=")
    assert lines[0] == "$ make debug IMAGE=%s/bootsector.img SYMS=%s/bootsector-at-0.elf@0x7c00" \
        % (README_GUESTS, README_GUESTS)
    check_transcript(lines, image_session, guests["bootsector.img"].parent)


def test_readme_kernel_transcript(kernel_session, guests):
    lines = readme_transcript("make debug KERNEL=%s/multiboot.elf" % README_GUESTS)
    assert lines[0] == "$ make debug KERNEL=%s/multiboot.elf" % README_GUESTS
    check_transcript(lines, kernel_session, guests["multiboot.elf"].parent)


def test_readme_refusals_are_current(guests):
    """Each `$ make debug ...` of the README's block of refusals prints, today,
    the very bootlab: line under it (make's own line carries a line number)."""
    lines = readme_transcript("make debug KERNEL=%s/multiboot64.elf" % README_GUESTS)
    pairs = [(cmd[2:], said) for cmd, said in zip(lines, lines[1:]) if cmd.startswith("$ ")]
    assert len(pairs) >= 2, lines
    here = str(guests["multiboot64.elf"].parent)
    for cmd, said in pairs:
        words = cmd.replace(README_GUESTS, here).split()
        assert words[:2] == ["make", "debug"], cmd
        proc = run_make("debug", *words[2:])
        assert proc.returncode != 0
        assert proc.stderr.replace(here, README_GUESTS).splitlines()[0] == said, proc.stderr
