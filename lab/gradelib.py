"""gradelib.py: what lab/grade.py and lab/checks.py share (make grade).

For every exercise it reads your answers from lab/answers.txt (`key: value`
lines) and compares them with what the machine shows *now*: symbols from the
ELF files (nm), constants from include/bootlab.h (tools/const.sh), and
registers and memory read from QEMU under GDB (lab/probe.py), one QEMU/GDB
session per exercise at most. For the exercises where you write a GDB script
(lab/scripts/), it runs your script and checks the state it stops in.

Numbers may be written in decimal or with 0x; names are compared without
regard to case. A wrong answer says what was to be found and where to look.
The grader builds its own copies of the image under build/grade/ (the
default build and the FAULT= and BUG= variants it needs), so what you left in
build/ does not matter. Logs of failed checks are kept in build/grade/logs/.
Exit status: 0 with full marks, 1 otherwise.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
ANSWERS = LAB / "answers.txt"
GRADE_BUILD = ROOT / "build" / "grade"
LOGS = GRADE_BUILD / "logs"
sys.path.insert(0, str(ROOT / "tools"))
import qemuargs  # noqa: E402  (the one QEMU command line of every run)
SESSION_LIMIT_S = 30     # one GDB/QEMU session, whole
STOP_LIMIT_S = 8         # one `continue` inside it
RUN_LIMIT_S = 8          # a headless run (panic screens, bug logs)
ELFS = ("boot16.elf", "boot32.elf", "kernel.elf")


class Wrong(Exception):
    """An answer that does not match; the message says where to look."""


# ---- The build ---------------------------------------------------------------

_build_lock = threading.Lock()
_built = {}


def build(**options):
    """Build the image with these make options (FAULT=, BUG=) into a
    directory of its own under build/grade/; returns that directory."""
    name = "-".join(f"{k.lower()}-{v}" for k, v in sorted(options.items()) if v) or "default"
    out = GRADE_BUILD / name
    with _build_lock:
        if name not in _built:
            args = [f"B={out}", f"FAULT={options.get('FAULT', '')}", f"BUG={options.get('BUG', '')}"]
            proc = subprocess.run(["make", "-s", *args], cwd=ROOT, capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, timeout=120)
            if proc.returncode:
                raise RuntimeError(f"make {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
            _built[name] = out
    return out


def symbols(out):
    """{name: address} of every symbol of the three ELF files of a build."""
    table = {}
    for elf in ELFS:
        text = subprocess.check_output(["nm", "--defined-only", str(out / elf)], text=True)
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3:
                table.setdefault(parts[2], int(parts[0], 16))
    return table


_consts = {}


def const(*names):
    """Values of constants from include/bootlab.h, as the build sees them."""
    missing = [n for n in names if n not in _consts]
    if missing:
        text = subprocess.check_output([str(ROOT / "tools/const.sh"), *missing], text=True)
        _consts.update(zip(missing, map(int, text.split())))
    values = [_consts[n] for n in names]
    return values[0] if len(values) == 1 else values


# ---- The machine ---------------------------------------------------------------

def qemu_cmd(out, *extra, drop=()):
    args = [a for a in qemuargs.machine_args() if a not in drop]
    return [qemuargs.QEMU, *args, *qemuargs.disk_args(out / "bootlab.img"),
            "-display", "none", *extra]


def run_process(cmd, limit, **kw):
    """Run cmd in its own process group; on timeout kill that group (our own
    processes only) and return what was printed so far."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)
    try:
        text, _ = proc.communicate(timeout=limit)
        return proc.returncode, text
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        text, _ = proc.communicate()
        return None, text


class Session:
    """One QEMU under GDB (over a pipe, -S) following a probe plan."""

    def __init__(self, out, plan, tag):
        self.out, self.plan, self.tag = out, plan, tag
        # -no-reboot would turn `monitor system_reset` (used before a
        # learner's script) into a shutdown: drop it for those sessions.
        drop = ("-no-reboot",) if any(step[0] == "source" for step in plan) else ()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(plan, f)
            plan_file = f.name
        cmd = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
               "-x", str(ROOT / "debug/lab.gdb")]
        for elf in ELFS:
            cmd += ["-ex", f"add-symbol-file {out / elf}"]
        cmd += ["-ex", qemuargs.gdb_target(qemu_cmd(out, "-S", "-gdb", "stdio", drop=drop)),
                "-x", str(LAB / "probe.py")]
        env = dict(os.environ, BOOTLAB_PROBE_PLAN=plan_file, BOOTLAB_PROBE_LIMIT=str(STOP_LIMIT_S))
        try:
            self.status, self.output = run_process(cmd, SESSION_LIMIT_S, cwd=ROOT, env=env)
        finally:
            os.unlink(plan_file)
        found = re.search(r"^PROBE (\{.*\})$", self.output, re.M)
        self.facts = json.loads(found.group(1)) if found else {}

    def __getitem__(self, name):
        if name not in self.facts:
            raise Wrong(f"the machine never got to `{name}` (GDB session log kept)")
        value = self.facts[name]
        if isinstance(value, dict) and set(value) == {"error"}:
            raise Wrong(f"reading `{name}` failed: {value['error']}")
        return value


def interrupt_log(out, limit=RUN_LIMIT_S):
    """Boot headless with QEMU's interrupt and reset log (-d int,cpu_reset).
    -no-shutdown is left out so that a triple fault ends QEMU at once.
    Returns (exceptions after the BIOS, log text): each exception a dict
    with v (vector), e (error code), pc, cs, cr2 (when logged)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "int.log"
        run_process(qemu_cmd(out, "-d", "int,cpu_reset", "-D", str(log),
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                             drop=("-no-shutdown",)), limit)
        text = log.read_text(errors="replace") if log.exists() else ""
    # An exception is logged as "check_exception old: .. new: V" followed by
    # the "v=V e=E ..." line; BIOS INT n calls (i=1) and IRQs have no such line.
    found = []
    lines = text.splitlines()
    for before, line in zip(lines, lines[1:]):
        m = re.match(r"\s*\d+: v=([0-9a-f]+) e=([0-9a-f]+) i=0 cpl=\d "
                     r"IP=([0-9a-f]+):[0-9a-f]+ pc=([0-9a-f]+).*?(?:CR2=([0-9a-f]+))?$", line)
        if m and before.startswith("check_exception"):
            found.append({"v": int(m.group(1), 16), "e": int(m.group(2), 16),
                          "cs": int(m.group(3), 16), "pc": int(m.group(4), 16),
                          "cr2": int(m.group(5), 16) if m.group(5) else None})
    return found, text


def headless(out, limit=RUN_LIMIT_S):
    """Boot to the end; returns the debug console text (port 0xE9)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "debugcon.log"
        run_process(qemu_cmd(out, "-debugcon", f"file:{log}",
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"), limit)
        return log.read_text(errors="replace") if log.exists() else ""


def monitor_segment(info, reg):
    """(selector, base, limit, flags) of a segment register from the text of
    `monitor info registers`."""
    m = re.search(rf"^{reg} =([0-9a-f]{{4}}) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)", info, re.M)
    if not m:
        raise Wrong(f"no {reg} line in `monitor info registers`")
    return tuple(int(x, 16) for x in m.groups())


def descriptor(raw):
    """Decode an 8-byte segment descriptor (SDM Vol. 3A 3.4.5)."""
    d = int.from_bytes(raw, "little")
    limit = (d & 0xffff) | ((d >> 32) & 0xf0000)
    flags = (d >> 52) & 0xf
    return {"base": ((d >> 16) & 0xffffff) | ((d >> 56) << 24), "access": (d >> 40) & 0xff,
            "flags": flags, "limit": limit,
            "bytes": (limit << 12) | 0xfff if flags & 0x8 else limit, "raw": d}


def mode_name(info):
    """The CPU mode from `monitor info registers`, in the extension's words."""
    cr0 = int(re.search(r"CR0=([0-9a-f]+)", info).group(1), 16)
    efer = int(re.search(r"EFER=([0-9a-f]+)", info).group(1), 16)
    cs_flags = monitor_segment(info, "CS")[3]
    if not cr0 & 1:
        return "real"
    if efer & (1 << 10):
        return "64-bit" if cs_flags & (1 << 21) else "compatibility"
    return "protected"


# ---- Answers ---------------------------------------------------------------------

def read_answers(path=ANSWERS):
    return parse_answers(path.read_text()) if path.exists() else {}


def parse_answers(text):
    """{key: value} of the `key: value` lines ('#' starts a comment)."""
    answers = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            key, value = line.split(":", 1)
            answers[key.strip()] = value.strip()
    return answers


def parse_int(text):
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        return None


class Grader:
    """Collects named checks for one exercise: each is worth points and
    passes, fails (with a hint) or is missing."""

    def __init__(self, answers, scripts=LAB / "scripts"):
        self.answers = answers
        self.scripts = Path(scripts)
        self.results = []         # (name, points, status, message)
        self.logs = []            # text kept when something fails

    def answer(self, key):
        value = self.answers.get(key, "")
        if not value:
            raise Wrong(f"no answer yet: fill in `{key}:` in lab/answers.txt")
        return value

    def check(self, name, points, fn):
        try:
            fn()
            self.results.append((name, points, "PASS", ""))
        except Wrong as e:
            self.results.append((name, points, "FAIL", str(e)))

    def number(self, key, points, truth, where):
        """The answer to `key` must equal the integer truth()."""
        def run():
            given = parse_int(self.answer(key))
            if given is None:
                raise Wrong(f"`{key}` must be a number (decimal, or hex with 0x)")
            if given != truth():
                raise Wrong(f"`{key}` does not match {where}")
        self.check(key, points, run)

    def word(self, key, points, truth, where):
        """The answer must equal one of the strings in truth() (any case)."""
        def run():
            given = self.answer(key).strip().strip("`").lower()
            accepted = truth()
            accepted = [accepted] if isinstance(accepted, str) else accepted
            if given not in [a.lower() for a in accepted]:
                raise Wrong(f"`{key}` does not match {where}")
        self.check(key, points, run)

    def test(self, name, points, fn):
        """A check of a learner's script or file: fn raises Wrong."""
        self.check(name, points, fn)


# ---- The exercises ----------------------------------------------------------------

EXERCISES = {}


def exercise(number, title):
    """Register fn(grader) as the checker of exercise `number`."""
    def register(fn):
        EXERCISES[number] = (title, fn)
        return fn
    return register
