"""depscan: every external program and Python module the project's code
invokes, read from the code itself (tests/test_dependencies.py checks each
against the Debian packages tools/setup.sh installs).

scan(root, paths) or scan_texts({path: text}) reads files by type: Python
(depscan.python), Makefiles and *.mk (depscan.make), shell scripts and GDB
scripts (depscan.shell for the commands). It returns Use records: kind
"program" (a name to look up on PATH, or an absolute path) or "module" (a
top-level Python module name, own modules included: the caller knows which
are the project's)."""
import os
import re
from collections import namedtuple

from . import make, python, shell
from .commands import ASSIGNMENT, EXEC_PIPE, programs_of, runner_functions

Use = namedtuple("Use", "path line kind name")

def file_type(path, text):
    """'python', 'make', 'shell', 'gdb' or None, by name and #! line."""
    name = os.path.basename(path)
    first = text.split("\n", 1)[0] if text.startswith("#!") else ""
    if name.endswith(".py") or "python" in first:
        return "python"
    if name.endswith(".mk") or name in ("Makefile", "makefile", "GNUmakefile"):
        return "make"
    if name.endswith(".sh") or re.match(r"#!\s*\S*(/|env\s+)(ba|da|k)?sh\b", first):
        return "shell"
    if name.endswith(".gdb"):
        return "gdb"
    return None


def scan(root, paths):
    """[Use] for the files paths (relative to root), as they are on disk."""
    texts = {}
    for path in paths:
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                texts[path] = f.read()
        except (OSError, UnicodeDecodeError):
            continue                      # binary or gone: not code
    return scan_texts(texts)


def scan_texts(texts):
    """[Use] for the files {path: text}."""
    types = {p: file_type(p, t) for p, t in texts.items()}
    uses = []
    for path, text in texts.items():
        if text.startswith("#!") and types[path]:
            uses += _uses(path, [(1, text[2:].split("\n", 1)[0].split())])
    pythons = {p: texts[p] for p in texts if types[p] == "python"}
    for path, line, kind, name in python.scan(pythons):
        uses.append(Use(path, line, kind, name))
    makefiles = sorted((p for p in texts if types[p] == "make"),
                       key=lambda p: (not os.path.basename(p).lower().endswith("makefile"), p))
    for path, line, snippet in make.snippets([(p, texts[p]) for p in makefiles]):
        uses += _uses(path, shell.commands(snippet, line))
    for path in (p for p in texts if types[p] == "shell"):
        text = texts[path]
        uses += _uses(path, shell.commands(text), shell_variables(text),
                      shell.functions(text), runner_functions(text))
    for path in (p for p in texts if types[p] == "gdb"):
        uses += _gdb_uses(path, texts[path])
    return uses


def _uses(path, commands, variables={}, functions=(), runners={}):
    found = []
    for line, words in commands:
        for kind, name in programs_of(words, variables, runners):
            if not (kind == "program" and name in functions):
                found.append(Use(path, line, kind, name))
    return found


def shell_variables(text):
    """NAME=VALUE assignments of a script whose value is a literal."""
    found = {}
    for _, words in shell.commands(text):
        for w in words:
            if not ASSIGNMENT.match(w):
                break
            name, value = w.split("=", 1)
            if "$" not in value:
                found[name] = value
    return found


def _gdb_uses(path, text):
    """A GDB script: its `shell`/`!` lines, `target remote | exec` lines,
    and the imports of its python ... end blocks."""
    found, block = [], None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if block is not None:
            if stripped == "end":
                for _, lineno, kind, name in python.scan({path: "\n".join(block[1])}):
                    found.append(Use(path, block[0] + lineno, kind, name))
                block = None
            else:
                block[1].append(line)
            continue
        if stripped == "python":
            block = (n, [])
        elif re.match(r"(shell\s|!)", stripped):
            found += _uses(path, shell.commands(re.sub(r"^(shell\s|!)", "", stripped), n))
        elif EXEC_PIPE.search(stripped):
            found += _uses(path, [(n, [stripped])])
    return found
