"""The transcripts in the exercise texts, checked against what the tools
print today, the way a learner gets them (tests/test_lab_transcripts.py;
python3 -m bootlab.lab.transcript).

A transcript is a fenced block right after a marker comment that says how
to reproduce it:

    <!-- transcript: make debug -->              a fresh `make debug`, GDB at 0x7c00
    <!-- transcript: make BUG=gdt-limit debug -->  the same on a bug build
    <!-- transcript: make debug STOP=reset -->   options go before or after the target
    <!-- transcript: make debug SMP=2 -->        two CPUs, the kernel that starts the second
    <!-- transcript: make BUG=e820-stack debug-rr -->  a replay (make debug-rr)
    <!-- transcript: same session -->            typed next, in the GDB session of
                                                 the block before (no fresh start)
    <!-- transcript: shell -->                   `$ command` lines, run by sh

A learner starts one `make debug` for each fresh block and types the
blocks' commands in order; so does this checker: one session per fresh
block and the `same session` blocks after it, all their commands typed in
sequence. Breakpoint numbers, repeated breakpoints and every stop are then
what a learner sees. The text must say so too: the prose before a fresh
block names its make command (`make debug`), the prose before a `same
session` block says "same session" (lead_problem).

In a GDB transcript every `(gdb) COMMAND` line is typed at the prompt, in
order, and what follows up to the next prompt is its output. In a shell
transcript every `$ COMMAND` line runs in the repository root. Two marks
stand for what changes from run to run:
    ...      on a line of its own: any number of lines (also none)
    <VAR>    inside a line: any text
Usage:
    python3 -m bootlab.lab.transcript FILE.md...       check; print a diff for each mismatch
    python3 -m bootlab.lab.transcript --fill FILE.md   rewrite each block with today's output
                                      (then put the marks back by hand)
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import proc, project

ROOT = project.ROOT
MARKER = re.compile(r"^<!-- transcript: (.+?) -->\n```[a-z]*\n(.*?)^```$", re.M | re.S)
SAME = "same session"
LIMIT_S = 30            # one block's commands; a session gets this per block
GDB_TARGETS = ("debug", "debug-rr")
# Options that change what is built: a session with any of them builds into a
# directory of its own (SMP=: the kernel that starts the other CPUs).
VARIANT = re.compile(r"\b(?:BUG|FAULT|SMP)=\S+")
OPTION = re.compile(r"^[A-Z_]+=\S*$")


class Block:
    def __init__(self, path, match, text, previous):
        self.path, self.how, self.text = path, match.group(1).strip(), match.group(2)
        self.span = match.span(2)
        self.line = text[:match.start()].count("\n") + 1
        # The prose a learner reads before this block: from the end of the
        # block before (or the file's start) to this block's marker.
        self.lead = text[previous.end() if previous else 0:match.start()]

    def __str__(self):
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.how})"

    @property
    def kind(self):
        return "shell" if self.how == "shell" else "gdb"

    @property
    def continues(self):
        """Typed in the session of the block before, not in a fresh one."""
        return self.how == SAME

    def commands(self):
        prefix = "$ " if self.kind == "shell" else "(gdb) "
        return [l[len(prefix):] for l in self.text.splitlines() if l.startswith(prefix)]

    def make_words(self):
        """The make command line of a fresh GDB block, without `make`."""
        words = self.how.split()
        targets = [w for w in words if w in GDB_TARGETS]
        if words[0] != "make" or len(targets) != 1 or \
                any(not OPTION.match(w) for w in words[1:] if w not in GDB_TARGETS):
            raise ValueError(f"{self}: a GDB transcript is `make [OPTION=VALUE...] debug "
                             "[OPTION=VALUE...]` (or debug-rr), or `same session`")
        return words[1:]

    @property
    def target(self):
        """The make target that starts GDB: debug, or debug-rr for a replay."""
        if self.kind == "shell" or self.continues:
            return None
        return next(w for w in self.make_words() if w in GDB_TARGETS)

    def lead_problem(self):
        """Why the prose before this block does not tell a learner how its
        session starts ('' when it does)."""
        if self.kind == "shell":
            return ""
        if self.continues:
            return "" if SAME in " ".join(self.lead.split()) else \
                f"{self}: the text before it must say it is typed in the same session"
        command = "`" + self.how + "`"
        return "" if command in self.lead else \
            f"{self}: the text before it must tell the learner to start {command}"


def blocks(path):
    path = Path(path).resolve()
    text = path.read_text()
    found, previous = [], None
    for m in MARKER.finditer(text):
        found.append(Block(path, m, text, previous))
        previous = m
    return found


def sessions(block_list):
    """The blocks grouped as a learner runs them: each shell block alone;
    each fresh GDB block with the `same session` blocks that follow it."""
    groups = []
    for b in block_list:
        if b.continues:
            if not groups or groups[-1][0].kind != "gdb" or groups[-1][-1].path != b.path:
                raise ValueError(f"{b}: `same session` needs a GDB block before it")
            groups[-1].append(b)
        else:
            groups.append([b])
    return groups


def clean_env():
    env = dict(os.environ)
    env.pop("DISPLAY", None)      # make debug: -display none, as in a plain terminal
    env.pop("MAKEFLAGS", None)
    return env


def bounded(args, stdin, limit=LIMIT_S):
    """Output of args (stdout and stderr); after limit seconds the whole
    process group (make, GDB, QEMU: ours only) is killed and the output so
    far kept."""
    proc = subprocess.Popen(args, cwd=ROOT, env=clean_env(), text=True, start_new_session=True,
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        return proc.communicate(stdin, timeout=limit)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0] + f"\n(transcript.py: killed after {limit} s)\n"


def prepare(block_list, tmp):
    """Build each variant the blocks need, once and one at a time, so that
    sessions run side by side never build into the same directory."""
    variants = sorted({(build_dir_for(b, tmp), variant_options(b))
                       for b in block_list if build_dir_for(b, tmp)})
    for b_dir, options in variants:
        subprocess.run(["make", "-s", f"B={b_dir}", *options], cwd=ROOT, env=clean_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=LIMIT_S)
    # make debug-rr records first when its recording (B/rr) is missing or
    # stale. Record each variant once here, so that replay sessions run side
    # by side share one recording instead of writing it at the same time.
    # (The default build's build/rr is left to make debug-rr: `make record`
    # would replace it under other sessions that may be replaying it.)
    for b_dir, options in sorted({(build_dir_for(b, tmp), variant_options(b))
                                  for b in block_list if b.target == "debug-rr"
                                  and build_dir_for(b, tmp)}):
        subprocess.run(["make", "-s", f"B={b_dir}", *options, "record"], cwd=ROOT,
                       env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=LIMIT_S)


def run_shell(block, build_dir=None):
    out = []
    for cmd in block.commands():
        line = cmd
        if build_dir is not None:   # the same commands on a build of its own
            line = re.sub(r"^make ", f"make B={build_dir} ", line)
            line = re.sub(r"lab/qemu-log.sh( --reboot)?", rf"lab/qemu-log.sh\1 {build_dir}", line)
            line = line.replace("build/", f"{build_dir}/")
        text = bounded(["sh", "-c", line], None)
        if build_dir is not None:
            text = text.replace(str(build_dir), "build")
        out.append(f"$ {cmd}\n{text}")
    return "".join(out)


def run_session(group, build_dir=None):
    """What the tools print today for a session (a list of blocks, the
    first fresh): one text per block, in its own format."""
    first = group[0]
    if first.kind == "shell":
        return [run_shell(first, build_dir)]
    args = ["make", "-s", *(["B=" + str(build_dir)] if build_dir else []), *first.make_words()]
    commands = [c for b in group for c in b.commands()]
    chunks = bounded(args, "\n".join(commands + ["quit"]) + "\n",
                     LIMIT_S * len(group)).split("(gdb) ")[1:]
    texts, i = [], 0
    for b in group:
        text = ""
        for cmd in b.commands():
            text += f"(gdb) {cmd}\n{chunks[i] if i < len(chunks) else ''}"
            i += 1
        texts.append(text)
    return texts


def run(block, build_dir=None):
    """What the tools print today for one fresh block on its own."""
    return run_session([block], build_dir)[0]


def build_dir_for(block, tmp):
    """A build directory of its own for blocks that build a variant (so the
    check never changes build/); None for the default build."""
    variant = variant_options(block)
    return tmp / "-".join(variant) if variant else None


def variant_options(block):
    if block.continues:
        return ()
    options = block.how if block.kind == "gdb" else " ".join(block.commands())
    return tuple(VARIANT.findall(options))


def run_all(block_list, tmp, jobs=3):
    """{str(block): what it prints today} for every block, each session
    once, a few sessions at a time (variants build into tmp)."""
    import concurrent.futures
    prepare(block_list, tmp)
    groups = sessions(block_list)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        texts = pool.map(lambda g: run_session(g, build_dir_for(g[0], tmp)), groups)
        return {str(b): t for g, ts in zip(groups, texts) for b, t in zip(g, ts)}


def normalize(text):
    return "\n".join(l.rstrip() for l in text.strip("\n").splitlines())


def pattern(expected):
    parts = []
    for line in normalize(expected).splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = [re.escape(p) for p in line.split("<VAR>")]
            parts.append(r"[^\n]*?".join(pieces) + r"\n")
    return re.compile("".join(parts), re.S)


def matches(expected, actual):
    return pattern(expected).fullmatch(normalize(actual) + "\n") is not None


def diff(expected, actual):
    import difflib
    return "\n".join(difflib.unified_diff(normalize(expected).splitlines(),
                                          normalize(actual).splitlines(),
                                          "in the text", "printed today", lineterm=""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in args.files:
            path = Path(f).resolve()
            found = blocks(path)
            for block in found:
                problem = block.lead_problem()
                if problem:
                    bad += 1
                    print(problem)
            printed = run_all(found, Path(tmp))
            text = path.read_text()
            for block in reversed(found):
                actual = printed[str(block)]
                if args.fill:
                    text = text[:block.span[0]] + normalize(actual) + "\n" + text[block.span[1]:]
                elif not matches(block.text, actual):
                    bad += 1
                    print(f"{block}: the transcript differs\n{diff(block.text, actual)}\n")
            if args.fill:
                path.write_text(text)
    return 1 if bad else 0


if __name__ == "__main__":
    proc.entry_point(main, "transcript")
