"""What the grader (grade.py) and its checkers (checks.py) share (make grade).

For every exercise it reads your answers from lab/answers.txt (`key: value`
lines) and compares them with what the machine shows *now*: symbols from the
ELF files (nm), constants from include/bootlab.h (bootlab.project), and
registers and memory read from QEMU under GDB (bootlab.gdbext.probe), one
QEMU/GDB session per exercise at most. For the exercises where you write a GDB script
(lab/scripts/), it runs your script and checks the state it stops in.

Numbers may be written in decimal or with 0x; names are compared without
regard to case. A wrong answer says what was to be found and where to look.
A challenge's self-checks are optional checks (optional=True): worth no
points, reported apart, SKIP when unanswered.
The grader builds its own copies of the image under build/grade/ (the
default build and the FAULT= and BUG= variants it needs), so what you left in
build/ does not matter. Logs of failed checks are kept in build/grade/logs/:
what your own scripts printed and why each check failed, never the values
the machine showed (those would be the answers).
Exit status: 0 with full marks, 1 otherwise.
"""
import json
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

from .. import project, proc, session
from ..qemu import cmdline, intlog, logs, monitor
from ..x86 import descriptors, modes

ROOT = project.ROOT
LAB = ROOT / "lab"
ANSWERS = LAB / "answers.txt"
GRADE_BUILD = Path(os.environ.get("BOOTLAB_GRADE_BUILD") or project.BUILD / "grade")
LOGS = GRADE_BUILD / "logs"
# One GDB/QEMU session, whole (BOOTLAB_SESSION_LIMIT: the tests shorten it).
SESSION_LIMIT_S = float(os.environ.get("BOOTLAB_SESSION_LIMIT") or 30)
STOP_LIMIT_S = 8         # one `continue` inside it
RUN_LIMIT_S = 8          # a headless run (panic screens, bug logs)
ELFS = project.ELF_FILES


class Wrong(Exception):
    """An answer that does not match; the message says where to look."""


class NoAnswer(Wrong):
    """The answers file has no value for a key yet."""


# ---- The build ---------------------------------------------------------------

_build_lock = threading.Lock()
_built = {}
_cpus = {}      # build directory -> the CPUs its SMP= asked for (its machines get them)


def build(**options):
    """Build the image with these make options (FAULT=, BUG=, SMP=) into a
    directory of its own under build/grade/; returns that directory."""
    name = "-".join(f"{k.lower()}-{v}" for k, v in sorted(options.items()) if v) or "default"
    out = GRADE_BUILD / name
    with _build_lock:
        if name not in _built:
            # B= relative to the checkout: make cannot take a blank in a path,
            # and the checkout's own path may hold one.
            b = os.path.relpath(out, ROOT)
            if " " in b:
                raise RuntimeError("the grader's build directory %s has a blank in it; make "
                                   "cannot build there (BOOTLAB_GRADE_BUILD=)" % out)
            args = [f"B={b}", f"FAULT={options.get('FAULT', '')}", f"BUG={options.get('BUG', '')}"]
            # Any other option as given (SMP=2: the kernel that starts the APs).
            args += [f"{k}={v}" for k, v in sorted(options.items()) if k not in ("FAULT", "BUG")]
            made = proc.run(["make", "-s", *args], 120, cwd=ROOT)
            if not made.ok:
                raise RuntimeError(f"make {' '.join(args)} failed:\n{made.output}")
            _built[name] = out
            if options.get("SMP"):
                _cpus[out] = cmdline.smp_count(str(options["SMP"]))
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


def const(*names):
    """Values of constants from include/bootlab.h, as the build sees them."""
    return project.const(*names)


# ---- The machine ---------------------------------------------------------------

def machine(out, cpus=None):
    """The PC a build runs on: `cpus` CPUs if given, else as many as the
    build's own SMP= asked for (the SMP exercises are written for SMP=2,
    whatever `make grade SMP=` says), else make's SMP= (BOOTLAB_SMP)."""
    return cmdline.Machine(disk=out / "bootlab.img",
                           smp=cpus or _cpus.get(out) or cmdline.smp_from_env())


class Session:
    """One QEMU (paused) under GDB following a probe plan. .facts holds what
    the probe saw; .output only what the learner's own scripts printed and
    how the session ended (never the machine's values: logs are shown to
    the learner)."""

    def __init__(self, out, plan, tag, cpus=None):
        self.out, self.plan, self.tag = out, plan, tag
        # -no-reboot would turn `monitor system_reset` (used before a
        # learner's script) into a shutdown: drop it for those sessions.
        drop = ("-no-reboot",) if any(step[0] == "source" for step in plan) else ()
        with tempfile.TemporaryDirectory(prefix="bootlab-probe-") as tmp:
            plan_file, facts_file = Path(tmp, "plan.json"), Path(tmp, "facts.json")
            plan_file.write_text(json.dumps(plan))
            env = dict(os.environ, BOOTLAB_PROBE_PLAN=str(plan_file),
                       BOOTLAB_PROBE_OUT=str(facts_file), BOOTLAB_PROBE_LIMIT=str(STOP_LIMIT_S))
            m = machine(out, cpus)
            with session.Qemu(lambda fd: cmdline.qemu(m, gdb_fd=fd, drop=drop),
                              Path(tmp, "qemu.log")) as qemu:
                argv = cmdline.gdb(batch=True, symbols=project.elf_paths(out), commands=[
                    qemu.target, "python import bootlab.gdbext.probe as p; p.main()"])
                result = session.batch_gdb(qemu, argv, SESSION_LIMIT_S, cwd=ROOT, env=env)
            self.status, self.timed_out = result.status, result.timed_out
            self.plan_had_script = any(step[0] == "source" for step in plan)
            self.facts = json.loads(facts_file.read_text()) if facts_file.exists() else {}
        said = [f"{k}: {v['output']}{v['error'] or ''}" for k, v in self.facts.items()
                if isinstance(v, dict) and "output" in v]
        ending = "the session ended normally" if result.ok else \
            "the session was stopped after %d s" % SESSION_LIMIT_S if result.timed_out else \
            "the session ended with status %s" % result.status
        self.output = "\n".join(said + [ending])

    def __getitem__(self, name):
        if name not in self.facts:
            raise Wrong(f"the machine never got to `{name}` (GDB session log kept)")
        value = self.facts[name]
        if isinstance(value, dict) and set(value) == {"error"}:
            raise Wrong(f"reading `{name}` failed: {value['error']}")
        return value


def qemu_cmd(out, *extra, drop=()):
    return cmdline.qemu(machine(out), extra=extra, drop=drop)


def interrupt_log(out, limit=RUN_LIMIT_S):
    """Boot headless with QEMU's interrupt and reset log, as lab/qemu-log.sh
    does (bootlab.qemu.intlog: a triple fault ends QEMU at once).
    Returns (exceptions after the BIOS, log text): each exception a dict
    with v (vector), e (error code), pc, cs, cr2 (when logged)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "int.log"
        proc.run(intlog.command(out / "bootlab.img", log), limit)
        text = log.read_text(errors="replace") if log.exists() else ""
    return [e for e in logs.exceptions(text) if not logs.in_firmware(e["pc"])], text


def headless(out, limit=RUN_LIMIT_S):
    """Boot to the end; returns the debug console text (port 0xE9)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "debugcon.log"
        proc.run(qemu_cmd(out, "-debugcon", f"file:{log}", *cmdline.DEBUG_EXIT), limit)
        return log.read_text(errors="replace") if log.exists() else ""


def monitor_segment(info, reg):
    """(selector, base, limit, flags) of a segment register from the text of
    `monitor info registers`."""
    try:
        seg = monitor.parse(info).segs[reg]
    except (monitor.MonitorError, KeyError):
        raise Wrong(f"no {reg} line in `monitor info registers`")
    return seg.selector, seg.base, seg.limit, seg.flags


def descriptor(raw):
    """An 8-byte segment descriptor (SDM Vol. 3A 3.4.5) as the exercises
    name its parts: base, access byte (bits 40-47), flags nibble (52-55),
    raw 20-bit limit, limit in bytes (G applied), the whole 64-bit value."""
    d = int.from_bytes(raw, "little")
    base, limit_bytes, _ = descriptors.split(d & 0xffffffff, d >> 32)
    return {"base": base, "access": (d >> 40) & 0xff, "flags": (d >> 52) & 0xf,
            "limit": (d & 0xffff) | ((d >> 32) & 0xf0000), "bytes": limit_bytes, "raw": d}


def mode_name(info):
    """The CPU mode from `monitor info registers`, in the extension's words
    (one word: real, protected, compatibility, 64-bit)."""
    regs = monitor.parse(info)
    v = regs.values
    return modes.decide(v["CR0"], v["CR4"], v["EFER"], v.get("RFL", v.get("EFL", 0)),
                        regs.segs["CS"].flags).cpu


# ---- Answers ---------------------------------------------------------------------

ANSWERS_MAX = 1 << 20      # bytes: a filled-in answers file is a few KiB
VALUE_MAX = 200            # characters: the longest answer is a file:line
NUMBER_DIGITS_MAX = 24     # 2^64 has 20 decimal digits, 16 hex


class AnswersError(Exception):
    """An answers file (or script) the grader cannot read: one line why."""


def read_text(path, what, limit=ANSWERS_MAX):
    """The text of a regular file of at most `limit` bytes, decoded as UTF-8;
    AnswersError naming the file, line and byte offset of a problem."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as e:
        raise AnswersError("%s: %s" % (what, (e.strerror or str(e)).lower())) from None
    if not path.is_file():
        raise AnswersError("%s is %s, not a file" % (
            what, "a directory" if path.is_dir() else "a FIFO, socket or device"))
    if st.st_size > limit:
        raise AnswersError("%s has %d bytes; more than %d is not an answers file or a script"
                           % (what, st.st_size, limit))
    data = path.read_bytes()[:limit]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1)
        raise AnswersError("%s line %d, byte %d of the line: 0x%02x is not UTF-8 (save the "
                           "file as UTF-8)" % (what, line, column + 1, data[e.start])) from None


def read_answers(path=ANSWERS, notes=None):
    """{key: value} of an answers file (missing: none yet); `notes`, a list,
    gets one line for each line the grader had to ignore."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return {}
    return parse_answers(read_text(path, str(path)), notes, str(path))


def parse_answers(text, notes=None, name="lab/answers.txt"):
    """{key: value} of the `key: value` lines ('#' starts a comment)."""
    answers = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            if notes is not None:
                notes.append("%s line %d has no `key:` (ignored): %.40s" % (name, number, line))
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if len(value) > VALUE_MAX:
            if notes is not None:
                notes.append("%s line %d: the answer to %.30s is %d characters long (ignored)"
                             % (name, number, key, len(value)))
            continue
        answers[key] = value
    return answers


def parse_int(text):
    """(int, None) or (None, why it is not a number an answer can be)."""
    digits = text.replace("_", "")
    if len(digits.lstrip("-+")) > NUMBER_DIGITS_MAX:
        return None, "is far too long for a number the CPU holds (64 bits at most)"
    try:
        value = int(digits, 0)
    except ValueError:
        return None, "must be a number (decimal, or hex with 0x)"
    if not -(1 << 63) <= value < (1 << 64):
        return None, "does not fit in 64 bits"
    return value, None


class Grader:
    """Collects named checks for one exercise: each is worth points and
    passes, fails (with a hint) or is missing. Optional checks (a
    challenge's self-check) are worth no points: they are reported apart
    and never count in the score; one left unanswered is SKIP, not FAIL."""

    def __init__(self, answers, scripts=LAB / "scripts"):
        self.answers = answers
        self.scripts = Path(scripts)
        self.results = []         # (name, points, status, message)
        self.optional = set()     # names of the optional checks among them
        self.logs = []            # text kept when something fails

    def answer(self, key):
        value = self.answers.get(key, "")
        if not value:
            raise NoAnswer(f"no answer yet: fill in `{key}:` in lab/answers.txt")
        return value

    def check(self, name, points, fn, optional=False):
        if optional:
            self.optional.add(name)
            points = 0
        try:
            fn()
            self.results.append((name, points, "PASS", ""))
        except NoAnswer as e:
            self.results.append((name, points, "SKIP" if optional else "FAIL",
                                 "not answered (optional)" if optional else str(e)))
        except Wrong as e:
            self.results.append((name, points, "FAIL", str(e)))

    def counted(self):
        """The results that count in the score."""
        return [r for r in self.results if r[0] not in self.optional]

    def challenges(self):
        return [r for r in self.results if r[0] in self.optional]

    def number(self, key, points, truth, where, optional=False):
        """The answer to `key` must equal the integer truth()."""
        def run():
            given, why = parse_int(self.answer(key))
            if given is None:
                raise Wrong(f"`{key}` {why}")
            if given != truth():
                raise Wrong(f"`{key}` does not match {where}")
        self.check(key, points, run, optional)

    def word(self, key, points, truth, where, optional=False):
        """The answer must equal one of the strings in truth() (any case)."""
        def run():
            given = self.answer(key).strip().strip("`").lower()
            accepted = truth()
            accepted = [accepted] if isinstance(accepted, str) else accepted
            if given not in [a.lower() for a in accepted]:
                raise Wrong(f"`{key}` does not match {where}")
        self.check(key, points, run, optional)

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
