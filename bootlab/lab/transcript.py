"""The transcripts in the exercise texts, checked against what the tools
print today (tests/test_lab_transcripts.py; python3 -m bootlab.lab.transcript).

A transcript is a fenced block right after a marker comment that says how
to reproduce it:

    <!-- transcript: make debug -->              GDB at 0x7c00, as `make debug`
    <!-- transcript: make BUG=gdt-limit debug -->  the same on a bug build
    <!-- transcript: make BUG=e820-stack debug-rr -->  a replay (make debug-rr)
    <!-- transcript: shell -->                   `$ command` lines, run by sh

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
LIMIT_S = 30
GDB_TARGETS = ("debug", "debug-rr")


class Block:
    def __init__(self, path, match):
        self.path, self.how, self.text = path, match.group(1).strip(), match.group(2)
        self.span = match.span(2)
        self.line = path.read_text()[:match.start()].count("\n") + 1

    def __str__(self):
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.how})"

    @property
    def kind(self):
        return "shell" if self.how == "shell" else "gdb"

    def commands(self):
        prefix = "$ " if self.kind == "shell" else "(gdb) "
        return [l[len(prefix):] for l in self.text.splitlines() if l.startswith(prefix)]

    def make_options(self):
        words = self.how.split()
        if words[0] != "make" or words[-1] not in GDB_TARGETS:
            raise ValueError(f"{self}: a GDB transcript is `make [OPTION=VALUE...] debug` "
                             "(or debug-rr)")
        return words[1:-1]

    @property
    def target(self):
        """The make target that starts GDB: debug, or debug-rr for a replay."""
        return self.how.split()[-1] if self.kind == "gdb" else None


def blocks(path):
    path = Path(path).resolve()
    return [Block(path, m) for m in MARKER.finditer(path.read_text())]


def clean_env():
    env = dict(os.environ)
    env.pop("DISPLAY", None)      # make debug: -display none, as in a plain terminal
    env.pop("MAKEFLAGS", None)
    return env


def bounded(args, stdin):
    """Output of args (stdout and stderr); after LIMIT_S the whole process
    group (make, GDB, QEMU: ours only) is killed and the output so far kept."""
    proc = subprocess.Popen(args, cwd=ROOT, env=clean_env(), text=True, start_new_session=True,
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        return proc.communicate(stdin, timeout=LIMIT_S)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0] + f"\n(transcript.py: killed after {LIMIT_S} s)\n"


def prepare(block_list, tmp):
    """Build each variant the blocks need, once and one at a time, so that
    blocks run side by side never build into the same directory."""
    for b_dir, options in sorted({(build_dir_for(b, tmp), variant_options(b))
                                  for b in block_list if build_dir_for(b, tmp)}):
        subprocess.run(["make", "-s", f"B={b_dir}", *options], cwd=ROOT, env=clean_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=LIMIT_S)
    # make debug-rr records first when its recording (B/rr) is missing or
    # stale. Record each variant once here, so that replay blocks run side by
    # side share one recording instead of writing it at the same time. (The
    # default build's build/rr is left to make debug-rr: `make record` would
    # replace it under other sessions that may be replaying it.)
    for b_dir, options in sorted({(build_dir_for(b, tmp), variant_options(b))
                                  for b in block_list if b.target == "debug-rr"
                                  and build_dir_for(b, tmp)}):
        subprocess.run(["make", "-s", f"B={b_dir}", *options, "record"], cwd=ROOT,
                       env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=LIMIT_S)


def run(block, build_dir=None):
    """What the tools print today for this block, in its own format."""
    if block.kind == "shell":
        out = []
        for cmd in block.commands():
            line, text = cmd, None
            if build_dir is not None:   # the same commands on a build of its own
                line = re.sub(r"^make ", f"make B={build_dir} ", line)
                line = re.sub(r"lab/qemu-log.sh( --reboot)?", rf"lab/qemu-log.sh\1 {build_dir}", line)
                line = line.replace("build/", f"{build_dir}/")
            text = bounded(["sh", "-c", line], None)
            if build_dir is not None:
                text = text.replace(str(build_dir), "build")
            out.append(f"$ {cmd}\n{text}")
        return "".join(out)
    args = ["make", "-s", *(["B=" + str(build_dir)] if build_dir else []), *block.make_options(),
            block.target]
    commands = block.commands()
    chunks = bounded(args, "\n".join(commands + ["quit"]) + "\n").split("(gdb) ")[1:]
    return "".join(f"(gdb) {cmd}\n{chunks[i] if i < len(chunks) else ''}"
                   for i, cmd in enumerate(commands))


def build_dir_for(block, tmp):
    """A build directory of its own for blocks that build a variant (so the
    check never changes build/); None for the default build."""
    options = block.how if block.kind == "gdb" else " ".join(block.commands())
    variant = re.findall(r"\b(?:BUG|FAULT)=\S+", options)
    return tmp / "-".join(variant) if variant else None


def variant_options(block):
    options = block.how if block.kind == "gdb" else " ".join(block.commands())
    return tuple(re.findall(r"\b(?:BUG|FAULT)=\S+", options))


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
            prepare(found, Path(tmp))
            text = path.read_text()
            for block in reversed(found):
                actual = run(block, build_dir_for(block, Path(tmp)))
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
