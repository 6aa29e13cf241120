"""Words of a command -> the programs (and python3 -m modules) it runs:
wrappers (timeout, env, setpriv, ...) looked through, shell builtins,
keywords and assignments skipped, GDB's `target remote | exec CMD` read."""
import os
import re

from . import shell

# Programs that run another program, given after their own options (and for
# timeout and chroot one operand): both are dependencies. (option names taking
# a value, operands before the command)
WRAPPERS = {
    "exec": ((), 0),
    "nice": (("-n", "--adjustment"), 0),
    "nohup": ((), 0),
    "timeout": (("-s", "--signal", "-k", "--kill-after"), 1),
    "setpriv": (("--pdeathsig", "--reuid", "--regid", "--groups"), 0),
    "env": (("-u", "--unset", "-C", "--chdir"), 0),
    "stdbuf": (("-i", "-o", "-e"), 0),
    "chroot": (("--userspec", "--groups"), 1),
    "unshare": (("--propagation", "--setgroups", "--map-user", "--map-group"), 0),
    "sudo": (("-u", "-g"), 0),
}
# Shell builtins and keywords (POSIX sh and bash) are no programs; `exec` and
# `command` run the program after them.
BUILTINS = set("""
    . : [ [[ ]] alias bg break builtin cd command continue declare dirs disown echo
    eval exit export false fg getopts hash help jobs kill let local mapfile popd
    printf pushd pwd read readarray readonly return set shift shopt source test
    times trap true type typeset ulimit umask unalias unset wait""".split())
KEYWORDS = set("if then else elif do while until ! { } time fi done esac".split())
NOT_COMMANDS = {"for", "select", "case", "function"}   # headers, not commands
PROGRAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")
# GDB starting its target: `target remote | exec PROG ARGS`.
EXEC_PIPE = re.compile(r"\|\s*exec\s+(.*)", re.S)


def literal(word, variables):
    """The word as a literal, a `$NAME` of a simple assignment resolved;
    None when it still depends on the run (a variable, a substitution)."""
    if word is None or "$" in word or "`" in word:
        m = re.fullmatch(r"\$(\w+)|\$\{(\w+)\}", word or "")
        value = variables.get(m.group(1) or m.group(2)) if m else None
        return value if value and PROGRAM_NAME.fullmatch(value.replace("/", "_")) else None
    return word


def programs_of(words, variables={}, runners={}):
    """[(kind, name)] run by one command given as words (None: unknown).
    runners: shell functions that run their arguments as a command ("$@"),
    with the number of arguments they shift off first."""
    found, i = [], 0
    for w in words:
        if isinstance(w, str) and EXEC_PIPE.search(w):
            for _, sub in shell.commands(EXEC_PIPE.search(w).group(1)):
                found += programs_of(sub, variables, runners)
    while i < len(words) and words[i] in KEYWORDS:
        i += 1
    if i < len(words) and words[i] in NOT_COMMANDS:
        return found
    while i < len(words):
        w = literal(words[i], variables)
        if w is None:
            return found
        if ASSIGNMENT.match(w):
            i += 1
        elif w == "command" and str(words[i + 1:i + 2]) in ("['-v']", "['-V']"):
            # command -v NAME: the script looks the program up; it needs it.
            name = literal(words[i + 2], variables) if i + 2 < len(words) else None
            return found + ([("program", name)] if name and PROGRAM_NAME.fullmatch(name) else [])
        elif w == "command":
            i += 1
        elif w in runners:
            i += 1 + runners[w]
        elif os.path.basename(w) in WRAPPERS:   # /usr/bin/env too
            if w != "exec":
                found.append(("program", w))
            i = _after_wrapper(words, i + 1, *WRAPPERS[os.path.basename(w)])
        elif w in BUILTINS or not (PROGRAM_NAME.fullmatch(w) or re.fullmatch(r"/[\w./+-]+", w)):
            return found                  # also a relative path: the project's own script
        else:
            return found + [("program", w)] + _python_module(w, words[i + 1:], variables)
    return found


def _python_module(program, args, variables):
    """python3 -m MODULE runs a module: a dependency of its own."""
    if re.fullmatch(r"python3(\.\d+)?", os.path.basename(program)) and "-m" in args[:-1]:
        module = literal(args[args.index("-m") + 1], variables)
        if module:
            return [("module", module.split(".")[0])]
    return []


def runner_functions(text):
    """{name: shifts} for the shell functions of text that run "$@" (their
    arguments, after `shift N`, as a command): phase NAME CMD..., in_dir DIR
    CMD.... A function body ends at the first line that is "}" (or on its
    own line, `f() { ...; }`)."""
    found = {}
    for m in re.finditer(r"^[ \t]*([A-Za-z_][\w-]*)\s*\(\)\s*\{(.*?)(?:\}[ \t]*$)",
                         text, re.M | re.S):
        shifts, runs = 0, False
        for _, words in shell.commands(m.group(2)):
            if words[:1] == ["shift"]:
                shifts += int(words[1]) if words[1:2] and words[1].isdigit() else 1
            runs = runs or _runs_args(words)
        if runs:
            found[m.group(1)] = shifts
    return found


def _runs_args(words):
    i = 0
    while i < len(words):
        w = words[i]
        if w == "$@":
            return True
        if w in KEYWORDS or ASSIGNMENT.match(w):
            i += 1
        elif os.path.basename(w) in WRAPPERS:
            i = _after_wrapper(words, i + 1, *WRAPPERS[os.path.basename(w)])
        else:
            return False
    return False


def _after_wrapper(words, i, takes_value, operands):
    """Index of the command a wrapper runs, after its options/operands."""
    while i < len(words):
        w = words[i] or ""
        if w == "--":
            return i + 1
        if w in takes_value:
            i += 2
        elif w.startswith("-") or ASSIGNMENT.match(w):
            i += 1
        elif operands:
            operands, i = operands - 1, i + 1
        else:
            return i
    return i
