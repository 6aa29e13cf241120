"""The lab's grader (bootlab/lab/grade.py, make grade): every checker passes for
answers computed now from the live machine, fails for wrong ones without
giving the answer away, and the shipped answers file holds no answers."""
import concurrent.futures
import re
import subprocess
import sys

import pytest

from conftest import ROOT, committed, committed_tree

from bootlab.lab import checks  # noqa: F401
from bootlab.lab import gradelib
from bootlab.lab.gradelib import EXERCISES, Grader  # noqa: E402


class Oracle(Grader):
    """Runs a checker but records the truth of each question instead of
    comparing: the answers as the machine gives them today."""

    def __init__(self, scripts):
        super().__init__({}, scripts)
        self.truth = {}

    def number(self, key, points, truth, where, optional=False):
        self.check(key, points, lambda: self.truth.__setitem__(key, hex(truth())), optional)

    def word(self, key, points, truth, where, optional=False):
        def run():
            value = truth()
            self.truth[key] = value if isinstance(value, str) else value[0]
        self.check(key, points, run, optional)

    def test(self, name, points, fn):
        pass


def objdump(elf):
    return subprocess.check_output(["objdump", "-d", "-M", "i8086", str(elf)], text=True)


def write_scripts(directory, out):
    """GDB scripts that do what exercises 3, 4 and 10 ask, from addresses
    found now in the build (no script is stored in the repository)."""
    sym = gradelib.symbols(out)
    lba, dap = gradelib.const("KERNEL_LBA"), sym["dap"]
    # The extended read is the first `int $0x13` after read_disk's label.
    listing = objdump(out / "boot16.elf")
    body = listing[listing.index("<read_disk>:"):]
    int13 = int(re.search(r"^\s*([0-9a-f]+):\s+cd 13", body, re.M).group(1), 16)
    directory.mkdir(exist_ok=True)
    (directory / "03-dap.gdb").write_text(
        f"break *{int13:#x} if *(unsigned int *)({dap:#x} + 8) == {lba}\ncontinue\n")
    (directory / "04-a20-off.gdb").write_text(
        "tbreak stage2_start\ncontinue\n"
        "set {unsigned char[6]}0x600 = {0xe4, 0x92, 0x24, 0xfd, 0xe6, 0x92}\n"
        f"set $pc = 0x600\nstepi 3\nset $pc = {sym['stage2_start']:#x}\n"
        "break a20_enabled\ncontinue\n")
    vga = gradelib.const("VGA_TEXT_ADDR") + 160
    (directory / "10-vga.gdb").write_text(
        f"break kmain\ncontinue\nwatch *(char *){vga:#x} if *(char *){vga:#x} != 0x20\ncontinue\n")
    return directory


def wrong_scripts(directory):
    """Scripts that run but stop in the wrong place."""
    directory.mkdir(exist_ok=True)
    for name in ("03-dap.gdb", "04-a20-off.gdb", "10-vga.gdb"):
        (directory / name).write_text("break stage2_start\ncontinue\n")
    return directory


def wrong(value):
    """A plausible wrong answer of the same kind."""
    if value.startswith("0x"):
        return hex(int(value, 16) + 1)
    return "real" if value != "real" else "64-bit"


@pytest.fixture(scope="module")
def truth(image, tmp_path_factory):
    scripts = write_scripts(tmp_path_factory.mktemp("scripts"), gradelib.build())
    found, problems = {}, []

    def ask(fn):
        oracle = Oracle(scripts)
        fn(oracle)
        return oracle
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for oracle in pool.map(ask, [fn for _, fn in EXERCISES.values()]):
            found.update(oracle.truth)
            problems += [r for r in oracle.results if r[2] != "PASS"]
    assert not problems, problems
    return found, scripts


def grade_in_process(answers, scripts):
    """{check name: (status, message)} over every exercise."""
    def grade(fn):
        g = Grader(answers, scripts)
        fn(g)
        return g
    results = {}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for g in pool.map(grade, [fn for _, fn in EXERCISES.values()]):
            results.update({name: (status, msg) for name, _, status, msg in g.results})
    return results


def test_every_check_passes_with_the_machines_answers(truth):
    answers, scripts = truth
    results = grade_in_process(answers, scripts)
    failed = {k: v for k, v in results.items() if v[0] != "PASS"}
    assert not failed
    assert len(EXERCISES) >= 18
    # Every question in the shipped answers file is one the grader asks.
    shipped = gradelib.parse_answers(committed("lab/answers.txt"))
    assert set(shipped) == set(answers)


def test_every_check_fails_for_wrong_answers_without_the_answer(truth, tmp_path):
    answers, _ = truth
    bad = {key: wrong(value) for key, value in answers.items()}
    results = grade_in_process(bad, wrong_scripts(tmp_path / "wrong"))
    passed = [k for k, v in results.items() if v[0] == "PASS" and k in answers or
              v[0] == "PASS" and k.startswith("lab/scripts")]
    assert not passed
    for key, value in answers.items():
        status, message = results[key]
        # Either the answer is wrong, or (04) the script it depends on is.
        assert "does not match" in message or message.startswith("lab/scripts/"), message
        # The hint names where to look, never the value itself.
        if len(value) >= 3:
            assert value.lower() not in message.lower(), (key, message)


def silent_wrong_scripts(directory):
    """Scripts that run but leave the machine where it was, printing nothing
    of the machine's own (what a learner's script prints is the learner's,
    and the grader's notes keep it)."""
    directory.mkdir(exist_ok=True)
    for name in ("03-dap.gdb", "04-a20-off.gdb", "10-vga.gdb"):
        (directory / name).write_text("# a wrong try\nprint 1\n")
    return directory


def exposes(key, value, text):
    """Where text holds value, the answer to key: as the texts test looks
    for it (hex tokens, decimals from 1000, `key: value`, FILE:LINE), and
    names of four letters or more as whole words."""
    from test_lab_transcripts import leaks
    found = leaks(key, value, text)
    if not value.startswith("0x") and len(value) >= 4:
        # Not inside a longer name: `ex07.pdpte` (a key) or BUG=no-pdpte (a title).
        found += [m.group(0) for m in re.finditer(rf"(?<![\w.-]){re.escape(value)}(?![\w-])",
                                                   text, re.I)]
    return found


def test_grading_wrong_answers_gives_no_answer_away(truth, tmp_path):
    """Every answer wrong, every script wrong: make grade's output and the
    notes it keeps (build/grade/logs) say where to look, and hold no value
    the machine shows today (computed now, by the Oracle)."""
    from test_lab_transcripts import EXEMPT
    answers, _ = truth
    file = tmp_path / "answers.txt"
    file.write_text("".join(f"{k}: {wrong(v)}\n" for k, v in answers.items()))
    proc = subprocess.run([sys.executable, "-m", "bootlab.lab.grade", "--answers", str(file),
                           "--scripts", str(silent_wrong_scripts(tmp_path / "scripts"))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    passed = [k for k in answers if re.search(rf"^\s*PASS {re.escape(k)}\b", proc.stdout, re.M)]
    assert not passed, proc.stdout
    logs = sorted(gradelib.LOGS.glob("ex*.log"))
    assert len(logs) == len(EXERCISES), logs          # every exercise failed, kept notes
    texts = {"make grade's output": proc.stdout + proc.stderr,
             **{str(log.relative_to(ROOT)): log.read_text() for log in logs}}
    problems = [f"{key} = {value} in {name}: {where}"
                for key, value in sorted(answers.items()) if key not in EXEMPT
                for name, text in texts.items() for where in exposes(key, value, text)]
    assert not problems, "answers given away:\n" + "\n".join(problems)


def test_lab_readme_grade_sample_is_todays(truth, tmp_path):
    """lab/README.md's sample of make grade's output (only `ex01.dl` right,
    `ex01.signature` wrong, the scripts as they ship): its score, the points
    won whatever the answers, and the number of self-checks are today's."""
    answers, _ = truth
    given = {"ex01.dl": answers["ex01.dl"], "ex01.signature": wrong(answers["ex01.signature"])}
    scripts = tmp_path / "scripts"
    committed_tree("lab/scripts", scripts)

    def grade(fn):
        g = Grader(given, scripts)
        fn(g)
        return g
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        graded = list(pool.map(grade, [fn for _, fn in EXERCISES.values()]))
    got = sum(p for g in graded for _, p, s, _ in g.counted() if s == "PASS")
    full = sum(p for g in graded for _, p, _, _ in g.counted())
    optional = sum(len(g.challenges()) for g in graded)
    text = (ROOT / "lab/README.md").read_text()
    assert re.search(rf"^Score: {got}/{full}  \(", text, re.M), (got, full)
    assert f"Challenges: 0 of {optional} self-checks match" in text, optional
    assert f"({got}, not 2:" in text, got


def test_shipped_answers_are_empty_and_grade_fails_with_hints(tmp_path):
    # What git holds, not the working tree: a learner's filled-in answers
    # and scripts must not fail this test.
    shipped = committed("lab/answers.txt")
    values = [line.split(":", 1)[1].strip() for line in shipped.splitlines()
              if ":" in line and not line.lstrip().startswith("#")]
    assert values and not any(values), "lab/answers.txt must ship without answers"
    (tmp_path / "answers.txt").write_text(shipped)
    committed_tree("lab/scripts", tmp_path / "scripts")
    proc = subprocess.run([sys.executable, "-m", "bootlab.lab.grade", "--ex", "1",
                           "--answers", str(tmp_path / "answers.txt"),
                           "--scripts", str(tmp_path / "scripts")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode != 0
    assert re.search(r"^Exercise  1: .*\(0/\d+\)$", proc.stdout, re.M), proc.stdout
    assert "FAIL ex01.dl (2 pts): no answer yet: fill in `ex01.dl:` in lab/answers.txt" in proc.stdout
    assert re.search(r"^Score: 0/\d+", proc.stdout, re.M)
    assert "Exercise  2" not in proc.stdout


def test_grade_cli_full_marks_exits_zero(truth, tmp_path):
    answers, scripts = truth
    file = tmp_path / "answers.txt"
    file.write_text("".join(f"{k}: {v}\n" for k, v in answers.items() if k.startswith("ex09")))
    proc = subprocess.run([sys.executable, "-m", "bootlab.lab.grade", "--ex", "9",
                           "--answers", str(file), "--scripts", str(scripts)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^Score: (\d+)/\1 ", proc.stdout, re.M), proc.stdout


def test_challenge_self_checks_are_optional(truth, tmp_path):
    """A challenge's self-checks are reported apart, checked against the
    machine, and never change the score or the exit status."""
    answers, scripts = truth
    ex01 = {k: v for k, v in answers.items() if k.startswith("ex01.")}
    optional = {"ex01.reset_linear", "ex01.reset_cs_base"}
    assert optional <= set(ex01)

    def grade(given):
        file = tmp_path / "answers.txt"
        file.write_text("".join(f"{k}: {v}\n" for k, v in given.items()))
        return subprocess.run([sys.executable, "-m", "bootlab.lab.grade", "--ex", "1",
                               "--answers", str(file), "--scripts", str(scripts)],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
    # Full marks without touching the challenge: exit 0, the checks skipped.
    proc = grade({k: v for k, v in ex01.items() if k not in optional})
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"^Score: (\d+)/\1 ", proc.stdout, re.M), proc.stdout
    assert "  challenge self-checks (optional, not in the score):" in proc.stdout
    for key in optional:
        assert f"    SKIP {key}: not answered (optional)" in proc.stdout
    # Only the challenge answered, rightly: they pass, the score stays 0.
    proc = grade({k: ex01[k] for k in optional})
    assert proc.returncode == 1
    assert re.search(r"^Score: 0/\d+ ", proc.stdout, re.M), proc.stdout
    for key in optional:
        assert f"    PASS {key}" in proc.stdout
    assert "Challenges: 2 of 2 self-checks match (optional, not in the score)" in proc.stdout
    # Answered wrongly: FAIL with a hint, not the value.
    proc = grade({k: wrong(ex01[k]) for k in optional})
    for key in optional:
        line = re.search(rf"^    FAIL {re.escape(key)}: (.*)$", proc.stdout, re.M)
        assert line and ex01[key] not in line.group(1), proc.stdout


# ---- A learner's checkout passes the tests (issue 10) --------------------------------
# The tests of what ships read git's HEAD, and every build they need they make
# themselves: so a checkout as a learner leaves it mid-lab (answers filled in,
# scripts written, build/ holding a bug build and a recording cut short)
# passes them too. Run in a copy of the working tree, with its own build/.
LEARNER_TESTS = [
    "tests/test_lab_grade.py::test_shipped_answers_are_empty_and_grade_fails_with_hints",
    "tests/test_lab_transcripts.py::test_no_answer_in_the_texts",
    "tests/test_lab_transcripts.py::test_texts_say_where_each_session_starts",
    "tests/test_rr.py::test_readme_transcript_is_todays_output",
]


def test_a_learners_filled_in_checkout_passes_the_lab_tests(truth, tmp_path):
    from conftest import copy_checkout, make
    answers, scripts = truth
    clone = copy_checkout(tmp_path / "bootlab")
    shipped = (clone / "lab/answers.txt").read_text()
    filled = re.sub(r"^([a-z]+\d+\.\w+):\s*$", lambda m: f"{m.group(1)}: {answers[m.group(1)]}",
                    shipped, flags=re.M)
    assert filled != shipped and re.search(r"^ex01\.dl: 0x", filled, re.M)
    (clone / "lab/answers.txt").write_text(filled)
    for script in scripts.glob("*.gdb"):        # commands that do what each exercise asks
        (clone / "lab/scripts" / script.name).write_text(script.read_text())
    make("BUG=vga-cell", cwd=clone)             # build/ as the last make left it:
    make("FAULT=pf", cwd=clone)                 # a variant, not the default image
    rr = clone / "build/rr"                     # a `make record` stopped half-way
    rr.mkdir(parents=True)
    (rr / "replay.bin").write_bytes(b"")
    (rr / "disk.qcow2").write_bytes(b"QFI\xfb")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *LEARNER_TESTS], cwd=clone, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"{len(LEARNER_TESTS)} passed" in proc.stdout, proc.stdout[-2000:]
    # The learner's work is still there.
    assert (clone / "lab/answers.txt").read_text() == filled
