"""Fuzz-style tests for every input channel: a few hundred generated bad
inputs each (seeded, so a failure can be reproduced), each bounded in time.
Every one must end in one clear line or a normal result: no traceback, no
hang, nothing written outside build/ (and the tests' own temporary files).

Channels: the answers file, lab scripts, IMAGE=/KERNEL=/SYMS= files, make's
numeric and machine options, every `bl` command's arguments and the
`set bootlab` settings."""
import os
import random
import re
import subprocess

import pytest

from bootlab import cli, project
from bootlab.lab import checks, gradelib
from bootlab.own import check, kernelfmt
from bootlab.qemu import cmdline
from conftest import ROOT
from guests import driver

SEED = 16
COUNT = 300
JUNK = [b"", b"\x00", b"\xff\xfe", b"\xe9", b"#", b":", b"::", b" ", b"\t", b"\n", b"\r\n",
        b"0x", b"-", b"_", b"9" * 50, b"0x" + b"f" * 30, b"ex01.dl", b"ex01.dl:", b"\x7fELF",
        b"HdrS", b"\x55\xaa", b"%s", b"{}", b"\\", b"'", b'"', b"$(x)", b"`id`", b"\x1b[31m"]


def junk(rng, parts=8):
    return b"".join(rng.choice(JUNK) if rng.random() < 0.7 else bytes(rng.randrange(256)
                    for _ in range(rng.randrange(1, 12))) for _ in range(rng.randrange(parts)))


def one_line(message):
    return bool(message) and "\n" not in str(message).strip()


# ---- the answers file and the scripts (in process: fast) ---------------------------------

def test_answers_files(tmp_path):
    rng = random.Random(SEED)
    f = tmp_path / "answers.txt"
    for i in range(COUNT):
        f.write_bytes(b"\n".join(junk(rng) for _ in range(rng.randrange(6))))
        notes = []
        try:
            answers = gradelib.read_answers(f, notes)
        except gradelib.AnswersError as e:
            assert one_line(e), (i, e)
            continue
        assert all(one_line(n) for n in notes), (i, notes)
        for key, value in answers.items():
            number, why = gradelib.parse_int(value)
            assert (number is None) == (why is not None), (i, value)
            if why:
                assert one_line(why)


def test_lab_scripts(tmp_path):
    rng = random.Random(SEED + 1)
    g = gradelib.Grader({}, tmp_path)
    for i in range(COUNT):
        (tmp_path / "03-dap.gdb").write_bytes(b"\n".join(junk(rng) for _ in range(4)))
        try:
            path = checks.script(g, "03-dap.gdb")
            assert path.exists()
        except gradelib.Wrong as e:
            assert one_line(e), (i, e)


# ---- IMAGE=, KERNEL=, SYMS= (in process) -----------------------------------------------

def shaped_file(rng):
    """Bytes that look a little like what QEMU boots, and then not."""
    size = rng.choice([0, 1, 300, 511, 512, 513, 4096, 0x8800, 40000])
    data = bytearray(rng.randrange(256) for _ in range(min(size, 2048))) + bytes(max(0, size - 2048))
    for magic, at in ((b"\x55\xaa", 510), (kernelfmt.LINUX_MAGIC, kernelfmt.LINUX_MAGIC_OFF),
                      (b"\x7fELF", 0), ((0x1badb002).to_bytes(4, "little"), rng.randrange(0, 64, 4)),
                      (b"QFI\xfb", 0), (b"CD001", 0x8001)):
        if rng.random() < 0.3 and at + len(magic) <= len(data):
            data[at:at + len(magic)] = magic
    if rng.random() < 0.3 and len(data) > 64 and data[:4] == b"\x7fELF":
        data[4] = rng.choice([1, 2, 7])
    return bytes(data)


def test_image_kernel_and_syms_files(tmp_path, capsys):
    rng = random.Random(SEED + 2)
    f = tmp_path / "file"
    for i in range(COUNT):
        f.write_bytes(shaped_file(rng))
        for kwargs in ({"image": str(f)}, {"kernel": str(f)}, {"syms": "%s@%s" % (f, rng.choice(
                ["0x7c00", "12", "x", "", "0x"]))}):
            try:
                address = check.stop_address(**kwargs)
                assert isinstance(address, int)
            except check.Bad as e:
                assert one_line(e), (i, kwargs, e)
        err = capsys.readouterr().err
        assert "Traceback" not in err


# ---- make's options (in process, then a few through make) ---------------------------------

OPTIONS = ["CPU", "MEM", "SMP", "APPEND", "INITRD", "QEMU_ARGS", "PORT"]
VALUES = ["", "0", "-1", "1", "2", "255", "256", "1e3", "0x10", "99999999999999999999", "abc",
          "128M", "2G", "128MX", " ", "'", '"', "$(id)", "-s", "-gdb tcp::1234", "-monitor tcp:0:4444",
          "-serial tcp::5555,server", "-vnc :1", "-vnc 127.0.0.1:1", "-display none", "-qmp stdio",
          "-daemonize", "max,+la57", "--", "\n", "a b 'c", "1023", "65536", "26001"]


def test_machine_options(monkeypatch):
    rng = random.Random(SEED + 3)
    for i in range(COUNT):
        for name in OPTIONS:
            monkeypatch.delenv("BOOTLAB_" + name, raising=False)
        picked = rng.sample(OPTIONS, rng.randrange(1, 4))
        for name in picked:
            monkeypatch.setenv("BOOTLAB_" + name, rng.choice(VALUES))
        monkeypatch.setenv("BOOTLAB_KERNEL", str(ROOT / "build" / "kernel.elf")
                           if "APPEND" in picked and rng.random() < 0.5 else "")
        try:
            m = cli.machine()
            options = options_of(m.args())
            assert not {"-s", "-gdb", "-daemonize", "-qmp"} & set(options), options
            for option, value in options.items():
                if option in ("-monitor", "-serial", "-chardev") and "tcp" in value:
                    assert "127.0.0.1" in value or "localhost" in value, (option, value)
            cli.port()
        except check.Bad as e:
            assert one_line(e), (i, picked, e)


# QEMU's options that take a value (the rest are flags).
TAKES_VALUE = {"-machine", "-accel", "-cpu", "-m", "-smp", "-kernel", "-append", "-initrd",
               "-drive", "-display", "-monitor", "-serial", "-chardev", "-vnc", "-device",
               "-debugcon", "-d", "-D", "-nic", "-icount", "-gdb", "-qmp", "-spice"}


def options_of(args):
    """{option: its value or ''} as QEMU reads args (a value is not an option)."""
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and a in TAKES_VALUE and i + 1 < len(args):
            out[a] = args[i + 1]
            i += 2
        else:
            out[a] = ""
            i += 1
    return out


@pytest.mark.parametrize("option,said", [
    ("SMP=0", "bootlab: SMP=0: the number of CPUs, 1 to 255"),
    ("MEM=lots", "bootlab: MEM=lots: give a size QEMU's -m takes"),
    ("GDBPORT=80", "bootlab: GDBPORT=80: a port is a number from 1024 to 65535"),
    ("QEMU_ARGS=-s", "bootlab: QEMU option -s: listens for GDB on every interface"),
    ("QEMU_ARGS=-monitor tcp:0.0.0.0:4444,server", "would listen beyond loopback"),
    ("APPEND=quiet", "bootlab: APPEND= and INITRD= go with KERNEL="),
])
def test_bad_options_through_make(image, option, said):
    target = "qemu-gdb" if option.startswith("GDBPORT") else "debug"
    p = subprocess.run(["make", "-s", target, option], cwd=ROOT, input="quit\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    ours = [l for l in p.stderr.splitlines() if l.startswith("bootlab:")]
    assert len(ours) == 1 and said in ours[0], p.stderr
    assert "Traceback" not in p.stderr


# ---- bl commands and settings in a live session ----------------------------------------------

NUMBERS = ["0", "1", "-1", "-5", "7", "31", "255", "256", "300", "0x7c00", "0xb8000", "$pc", "$sp",
           "0xffffffffffffffff", "0x10000000000000000", "1/0", "(", "x", "'a'", "1e9", "65536",
           "65537", "4096", "0xfffffffffffff", "0x7fffffffffff", "0xff00000000000000", "-0x10",
           "kmain", "&kmain", "*0", "''", "\"", "100000", "2000000000"]
WORDS = ["plain", "color", "cr0", "cr9", "efer", "$cr3", "mode", "paging", "cr3", "far",
         "exception", "msr", "cr", "nothing", "--each-iteration", "--max-tables", "w", "-w", "x",
         "-u", "CR3=0x1000", "CR3=-1", "cr3=zz", "a b", "--", "-h"]
COMMANDS = ["mode", "cr", "regs", "seg", "gdt", "idt", "walk", "maps", "phys", "vga", "context",
            "replay", "next-mode", "until", "cpus", "tss", "ldt", "msr", "apic", "where", "pbreak"]
SETTINGS = [("context", ["on", "off", "2", "maybe"]), ("context-lines", ["0", "4", "64", "65",
            "100000", "-1", "x"]), ("disasm-mode", ["auto", "16", "32", "64", "8", "x"]),
            ("color", ["on", "off", "auto", "x"]), ("mode-messages", ["on", "off", "x"])]


def bl_lines(rng, n):
    out = []
    for _ in range(n):
        cmd = rng.choice(COMMANDS)
        args = [rng.choice(NUMBERS if rng.random() < 0.6 else WORDS)
                for _ in range(rng.randrange(4))]
        if cmd in ("next-mode", "until"):
            # Keep them short: a bad count or event must fail at once, a good
            # one must run only a few steps (the default is 200000).
            args = [a for a in args if a not in NUMBERS or a in ("0", "-1", "-5", "x", "(", "1",
                                                                  "7", "'a'", "1/0", "''")]
            args.append("20")
        out.append("bl %s %s" % (cmd, " ".join(args)))
    for name, values in SETTINGS:
        for v in values:
            out.append("set bootlab %s %s" % (name, v))
            out.append("show bootlab %s" % name)
    out.append("set bootlab context-lines 4")
    return out


@pytest.mark.parametrize("where", ["boot_start", "kmain"])
def test_bl_commands_and_settings(image, where):
    rng = random.Random(SEED + (5 if where == "kmain" else 6))
    lines = bl_lines(rng, COUNT)
    before = set(untracked())
    t = driver.run_gdb(image, ["set bootlab context off", "break %s" % where, "continue"] + lines,
                       setup=cmdline.symbol_commands(project.elf_paths()), timeout=240)
    assert "Traceback" not in str(t), str(t)[-3000:]
    assert "internal error" not in str(t), re.findall(r".*internal error.*", str(t))
    for line in lines:
        out = t.out(line)
        errors = [l for l in out.splitlines() if l.startswith("ERROR:")]
        assert len(errors) <= 1, (line, out)
        if errors:
            assert len(out.strip().splitlines()) == 1, (line, out)
    assert set(untracked()) == before, "files written outside build/"


def test_every_bl_command_is_fuzzed():
    """A new `bl` command joins the fuzzing by being added to COMMANDS: this
    fails until it is (the list comes from the extension's own help)."""
    out = subprocess.run(["gdb", "-nx", "-q", "-batch", "-x", str(ROOT / "debug/lab.gdb"),
                          "-ex", "help bl"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    found = set(re.findall(r"^bl (\S+) -- ", out, re.M))
    assert found, out
    assert found <= set(COMMANDS), "not fuzzed: %s" % sorted(found - set(COMMANDS))


def untracked():
    """Files git does not know, outside build/ (a test may write only there)."""
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30).stdout
    return [l for l in out.splitlines() if l.startswith("??") and not l[3:].startswith("build/")]
