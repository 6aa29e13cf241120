"""The one reader of the project's C headers (include/x86.h, include/bootlab.h).

Both headers are written in a restricted form that C, NASM (through
tools/h2inc.sh) and this module all read: `#define NAME value` lines,
`#include "other.h"` lines, `//` comments and an include guard. A value is
an integer expression of numbers, earlier names, parentheses and the
operators + - * / << >> | & ~; it is evaluated here with Python's own
parser, walking the syntax tree (no eval of the text).

    python3 -m bootlab.header include/bootlab.h BOOT_CODE_MAX ...
prints each value in decimal, one a line (the Makefile uses it).
"""
import ast
import operator
import os
import re
import sys

# os.path, not pathlib: this module loads with the GDB extension, and
# pathlib's import (with urllib and ipaddress) costs GDB ~4 ms at every start.
INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include")
DEFINE = re.compile(r"^#define\s+([A-Z][A-Z0-9_]*)\s+(.*?)\s*(?://.*)?$")
INCLUDE_LINE = re.compile(r'^#include\s+"([^"]+)"')
GUARD = re.compile(r"^[A-Z0-9_]+_H$")
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.FloorDiv: operator.floordiv, ast.Div: operator.floordiv,
             ast.LShift: operator.lshift, ast.RShift: operator.rshift,
             ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor}


class HeaderError(ValueError):
    pass


def evaluate(text, names):
    """The integer value of a C constant expression over known names."""
    try:
        tree = ast.parse(text.replace("/", "//"), mode="eval")
    except SyntaxError:
        raise HeaderError("not an integer expression: %s" % text) from None

    def value(node):
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise HeaderError("%s is used before it is defined" % node.id)
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.USub)):
            return ~value(node.operand) if isinstance(node.op, ast.Invert) else -value(node.operand)
        raise HeaderError("not an integer expression: %s" % text)
    return value(tree)


def read(path, names=None):
    """{NAME: int} of a header and the headers it includes (same directory)."""
    path = os.fspath(path)
    names = {} if names is None else names
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        inc = INCLUDE_LINE.match(line)
        if inc:
            read(os.path.join(os.path.dirname(path), inc.group(1)), names)
            continue
        m = DEFINE.match(line)
        if not m or GUARD.match(m.group(1)):
            continue
        try:
            names[m.group(1)] = evaluate(m.group(2), names)
        except HeaderError as e:
            raise HeaderError("%s:%d: %s" % (path, number, e)) from None
    return names


def main(argv):
    if len(argv) < 2:
        print("usage: python3 -m bootlab.header HEADER NAME...", file=sys.stderr)
        return 2
    try:
        names = read(argv[0])
    except (OSError, HeaderError) as e:
        print("bootlab.header: %s" % e, file=sys.stderr)
        return 1
    missing = [n for n in argv[1:] if n not in names]
    if missing:
        print("bootlab.header: %s defines no %s" % (argv[0], ", ".join(missing)), file=sys.stderr)
        return 1
    for n in argv[1:]:
        print(names[n])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
