"""The GDB half of make trace's symbols (symbols.py starts it): runs in
`gdb -batch` with the lab's symbol files and no target.

Reads linear addresses (hex, one per line) from stdin until it closes, and
prints one line, SYMBOLS_MARK and a JSON list with one [symbol, file, line,
full path] per address: GDB's own `<name+off>` and its line table (NASM's
and GCC's DWARF), what a learner sees in make debug at the same address.
"""
import json
import sys

SYMBOLS_MARK = "BOOTLAB-SYMBOLS "       # symbols.py imports it without GDB


def describe(address):
    import gdb
    text = gdb.format_address(address)
    symbol = text[text.find("<") + 1:-1] if "<" in text else ""
    sal = gdb.find_pc_line(address)
    if sal and sal.symtab:
        return [symbol, sal.symtab.filename, sal.line, sal.symtab.fullname()]
    return [symbol, None, None, None]


def main():
    found = []
    for line in sys.stdin:
        line = line.strip()
        if line:
            found.append(describe(int(line, 16)))
    sys.stdout.write(SYMBOLS_MARK + json.dumps(found) + "\n")
    sys.stdout.flush()
