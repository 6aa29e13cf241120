"""Every transcript in the lab's texts (lab/NN-*.md) and the README matches
what the tools print today, typed as a learner types it (one fresh session
where the text says so, `same session` blocks on in it), with only the
marked parts (`...`, `<VAR>`) allowed to differ; and the lab has the
exercises and bug hunts its README lists."""
import concurrent.futures
import re

import pytest

from conftest import ROOT, committed_tree

from bootlab.lab import transcript

TEXTS = sorted((ROOT / "lab").glob("[0-9][0-9]-*.md"))
# The exercises' transcripts, and the README's sessions (make debug, make debug-rr).
BLOCKS = [b for path in TEXTS + [ROOT / "README.md"] for b in transcript.blocks(path)]


@pytest.fixture(scope="module")
def printed(image, tmp_path_factory):
    """Run every block as a learner does: one fresh make debug (or shell)
    per session, the `same session` blocks typed on in it; a few sessions
    at a time (variants build into directories of their own)."""
    return transcript.run_all(BLOCKS, tmp_path_factory.mktemp("transcripts"))


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_transcript_is_current(block, printed):
    actual = printed[str(block)]
    assert transcript.matches(block.text, actual), \
        f"{block}: rerun and update the text\n{transcript.diff(block.text, actual)}"


def test_texts_say_where_each_session_starts():
    """A learner starts a fresh make debug where the text says so, and
    only there: before a fresh block the prose names its make command,
    before a `same session` block it says "same session"."""
    problems = [b.lead_problem() for b in BLOCKS if b.lead_problem()]
    transcript.sessions(BLOCKS)     # a `same session` block follows a GDB block
    assert not problems, "\n".join(problems)


def test_lab_shape():
    numbers = [int(p.name[:2]) for p in TEXTS]
    assert numbers == list(range(1, len(TEXTS) + 1)), "exercises numbered 01, 02, ... without gaps"
    bugs = [p for p in TEXTS if "-bug-" in p.name]
    assert len(TEXTS) - len(bugs) >= 12 and len(bugs) >= 5
    readme = (ROOT / "lab/README.md").read_text()
    for path in TEXTS:
        text = path.read_text()
        assert path.name in readme, f"lab/README.md does not list {path.name}"
        for heading in ("## Steps", "## Questions"):
            assert heading in text, f"{path.name} lacks {heading}"
        assert transcript.blocks(path), f"{path.name} has no checked transcript"
    for path in bugs:
        name = re.search(r"BUG=([a-z0-9-]+)", path.read_text()).group(1)
        assert f"BUG={name}" in readme


NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve "
                "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


def test_readmes_count_the_lab_as_it_is():
    """The counts the two READMEs give where they first name the lab's parts
    ("fourteen exercises ... eight bug hunts") are the texts' own."""
    bugs = len([p for p in TEXTS if "-bug-" in p.name])
    want = {"exercises": len(TEXTS) - bugs, "bug hunts": bugs}
    for name in ("README.md", "lab/README.md"):
        text = " ".join((ROOT / name).read_text().split())
        for what, count in want.items():
            said = re.search(rf"\b({'|'.join(NUMBER_WORDS)}) {what}\b", text, re.I)
            assert said, f"{name} does not say how many {what} there are"
            assert NUMBER_WORDS.index(said.group(1).lower()) == count, (name, said.group(0), count)


# ---- No answer key in the texts ----------------------------------------------------
# The graded answers are computed now, the way the grader computes its truth
# (bootlab/lab/checks.py through the Oracle of tests/test_lab_grade.py), and must not
# appear verbatim in the text that asks for them (lab/NN-*.md of that key's
# exercise), nor in lab/README.md or the comments of lab/scripts/*.gdb.
# Exercise texts are checked only for their own keys: a value that is one
# exercise's answer is often another's subject (0x18 is SEL_CODE64 in
# exercise 5, the answer to ex08.cs_at_lm_entry).
# Numbers are looked for as 0x-hex tokens (any zero padding, any case) and,
# from 1000 up, as decimal tokens. Values below 0x10 are skipped: 0, 2, 8 or
# 0xe are everywhere (bit numbers, vectors, selectors in the background) and
# would only give false alarms. Names (a mode, a function, a flag) are not
# looked for: the texts must use those words to teach; FILE:LINE answers are.
# Exempt: values that are also the subject of the text that asks for them.
EXEMPT = {
    "ex02.stack_top": "0x7c00 is where the BIOS loads the boot sector, named by every text",
    "ex07.q_physical": "identity mapping: it equals the question's own address",
    "ex06.bits_without_d": "a code size in bits (16): 0x10 is also CR0.ET, in every CR0 line",
}


def graded_answers():
    from test_lab_grade import Oracle, write_scripts
    import tempfile
    from pathlib import Path
    from bootlab.lab import checks  # noqa: F401
    from bootlab.lab import gradelib
    scripts = write_scripts(Path(tempfile.mkdtemp(prefix="bootlab-key-")), gradelib.build())
    found = {}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        def ask(fn):
            oracle = Oracle(scripts)
            fn(oracle)
            return oracle
        for oracle in pool.map(ask, [fn for _, fn in gradelib.EXERCISES.values()]):
            found.update(oracle.truth)
    return found


def leaks(key, value, text):
    """The places where text gives away value, the answer to key."""
    forms = []
    if value.startswith("0x"):
        number = int(value, 16)
        hexpart = format(number, "x")
        forms.append(rf"{re.escape(key)}`?\s*[:=]\s*`?(?:0x0*{hexpart}|{number})(?![\w])")
        if number >= 0x10:
            forms.append(rf"(?<![\w$])0x0*{hexpart}(?![\w])")
        if number >= 1000:
            forms.append(rf"(?<![\w$.:])(?<!0x){number}(?![\w])")
    else:
        forms.append(rf"{re.escape(key)}`?\s*[:=]\s*`?{re.escape(value)}(?![\w])")
        if re.fullmatch(r"[\w.]+\.[chs]:\d+", value):
            forms.append(rf"(?<![\w]){re.escape(value)}(?!\d)")
    found = []
    for form in forms:
        for m in re.finditer(form, text, re.I):
            line = text[:m.start()].count("\n") + 1
            found.append(f"line {line}: {text.splitlines()[line - 1].strip()[:100]}")
    return found


def test_no_answer_in_the_texts(image, tmp_path):
    answers = graded_answers()
    assert len(answers) >= 70, sorted(answers)
    # The scripts as they ship (a learner's own may hold answers, rightly).
    shared = [ROOT / "lab/README.md", *committed_tree("lab/scripts", tmp_path / "lab/scripts")]
    problems = []
    for key, value in sorted(answers.items()):
        if key in EXEMPT:
            continue
        number = int(re.match(r"[a-z]+(\d+)\.", key).group(1))
        own = [p for p in TEXTS if int(p.name[:2]) == number]
        assert own, key
        for path in own + shared:
            for where in leaks(key, value, path.read_text()):
                name = path.relative_to(tmp_path if tmp_path in path.parents else ROOT)
                problems.append(f"{key} = {value} in {name} {where}")
    assert not problems, "answers in the lab's texts:\n" + "\n".join(problems)
