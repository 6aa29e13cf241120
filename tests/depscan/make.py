"""Make's side of the dependency scan: the shell text a set of makefiles runs
(recipe lines, $(shell ...) bodies, != assignments), with make's variables
expanded the simple way: `NAME := value`, `NAME ?= value`, `NAME = value`,
`NAME += value` from every file given, so `CC := $(CROSS)gcc` or `$(GDB)` in
a fragment come out as the program they name. Functions are approximated for
what matters here, the words of a command: $(if c,a,b) gives a and b, $(call
v,x) expands v with $(1) = x, $(shell ...) is scanned as a command of its own
and gives nothing, text functions ($(subst ...), $(word ...)) give their last
argument. Variables from the command line or the environment (CROSS=,
DISPLAY) count as empty, their defaults on a fresh system."""
import re

ASSIGN = re.compile(r"^(?:(?:override|export|private)\s+)*([A-Za-z_][\w.-]*)\s*"
                    r"(::=|:::=|:=|\?=|\+=|!=|=)\s*(.*)$", re.S)
TARGET_ASSIGN = re.compile(r"^[^:=#]+:(?!=)\s*(?:(?:override|export|private)\s+)*"
                           r"([A-Za-z_][\w.-]*)\s*(::=|:=|\?=|\+=|=)\s*(.*)$", re.S)
DIRECTIVE = re.compile(r"^\s*(-?include|sinclude|ifeq|ifneq|ifdef|ifndef|else|endif|"
                       r"export|unexport|vpath|override|undefine)\b")
BUILTIN = {"MAKE": "make", "SHELL": "/bin/sh"}
TEXT_FUNCTIONS = {"subst", "patsubst", "strip", "findstring", "filter", "filter-out", "sort",
                  "word", "wordlist", "words", "firstword", "lastword", "dir", "notdir",
                  "suffix", "basename", "addsuffix", "addprefix", "join", "wildcard",
                  "realpath", "abspath", "value", "origin", "flavor", "foreach", "let"}
NOTHING = {"error", "warning", "info", "eval", "file", "guile", "shell"}


def logical_lines(text):
    """(first line number, text, is a recipe line) for each logical line."""
    lines, n, in_rule, define = text.split("\n"), 0, False, False
    while n < len(lines):
        start, line = n + 1, lines[n]
        while line.endswith("\\") and n + 1 < len(lines):
            n += 1
            line = line[:-1] + " " + lines[n].lstrip("\t")
        n += 1
        if define:
            define = not re.match(r"\s*endef\b", line)
            continue
        if line.startswith("\t") and in_rule:
            yield start, line[1:], True
            continue
        line = _uncomment(line)
        if re.match(r"\s*(?:(?:override|export)\s+)*define\s", line):
            define = True
        elif ASSIGN.match(line) or DIRECTIVE.match(line) or not line.strip():
            pass                          # a rule's recipe goes on after these
        else:
            in_rule = ":" in line
        yield start, line, False


def _uncomment(line):
    m = re.search(r"(?<!\\)#", line)
    return (line[:m.start()] if m else line).replace("\\#", "#")


def snippets(files):
    """[(path, line, shell text)] for files [(path, text)], main Makefile first."""
    variables = dict(BUILTIN)
    parsed = [(path, list(logical_lines(text))) for path, text in files]
    found = []
    for path, lines in parsed:
        for line, text, recipe in lines:
            m = not recipe and (ASSIGN.match(text) or TARGET_ASSIGN.match(text))
            if not m or not _balanced(text[:m.start(1)]):
                continue                  # $(error a: B= c) is no assignment
            name, op, value = m.groups()
            if op == "+=":
                variables[name] = variables.get(name, "") + " " + value
            elif op == "!=":
                found.append((path, line, value))
            elif op != "?=" or name not in variables:
                variables[name] = value
    for path, lines in parsed:
        for line, text, recipe in lines:
            for body in _shell_calls(text):
                found.append((path, line, expand(body, variables)))
            if recipe:
                found.append((path, line, _recipe(expand(text, variables))))
    return found


def _balanced(text):
    return text.count("(") == text.count(")") and text.count("{") == text.count("}")


def _recipe(text):
    """A recipe line as the shell gets it: without make's @ - + prefixes."""
    return re.sub(r"^[\s@+-]*", "", text)


def _shell_calls(text):
    """Bodies of the $(shell ...) calls written in text."""
    bodies, i = [], 0
    while (i := text.find("$(shell ", i)) >= 0:
        end = _close(text, i + 1)
        bodies.append(text[i + 8:end])
        i = end
    return bodies


def _close(text, i):
    """Index of the bracket closing the one at text[i]."""
    pairs, depth = {"(": ")", "{": "}"}, 0
    opening, closing = text[i], pairs[text[i]]
    for j in range(i, len(text)):
        if text[j] == opening:
            depth += 1
        elif text[j] == closing:
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def _split_args(text):
    """A function's arguments: split at the commas outside brackets."""
    args, depth, start = [], 0, 0
    for j, c in enumerate(text):
        depth += (c in "({") - (c in ")}")
        if c == "," and depth == 0:
            args.append(text[start:j])
            start = j + 1
    return args + [text[start:]]


def expand(text, variables, args=(), active=frozenset()):
    """text with make's references replaced ($$ -> $ for the shell)."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$" or i + 1 >= len(text):
            out.append(text[i])
            i += 1
            continue
        c = text[i + 1]
        if c == "$":
            out.append("$")
            i += 2
        elif c in "({":
            end = _close(text, i + 1)
            out.append(_reference(text[i + 2:end], variables, args, active))
            i = end + 1
        else:                             # $@ $< $^ $*: the shell sees a "$" word
            out.append(args[int(c) - 1] if c.isdigit() and int(c) <= len(args) else "$" + c)
            i += 2
    return "".join(out)


def _reference(inner, variables, args, active):
    def ex(t):
        return expand(t, variables, args, active)
    m = re.match(r"([a-z-]+)\s(.*)", inner, re.S)
    if m and m.group(1) in NOTHING | TEXT_FUNCTIONS | {"if", "or", "and", "call"}:
        name, fargs = m.group(1), _split_args(m.group(2))
        if name in NOTHING:
            return ""
        if name == "if":
            return " ".join(ex(a) for a in fargs[1:3])
        if name in ("or", "and"):
            return " ".join(ex(a) for a in fargs)
        if name == "call":
            callee = ex(fargs[0]).strip()
            if callee in active:
                return ""
            return expand(variables.get(callee, ""), variables,
                          tuple(ex(a) for a in fargs[1:]), active | {callee})
        return ex(fargs[-1])
    name = ex(inner).split(":", 1)[0].strip()   # $(VAR:.o=.d) names VAR
    if name.isdigit():
        return args[int(name) - 1] if int(name) <= len(args) else ""
    if name in active or name not in variables:
        return ""
    return expand(variables[name], variables, args, active | {name})
