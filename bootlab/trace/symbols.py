"""Symbols and source lines for make trace's records, from GDB.

GDB starts (batch mode, the symbol files, no target) when the trace does,
and loads them while QEMU runs the BIOS; the trace gives it every address it
listed at the end, in one go (gdbsymbols.py answers). So the listing names
what GDB names, and the stepping never waits for a lookup.
"""
import json
import os
import subprocess

from .. import proc, project
from ..qemu import cmdline
from .gdbsymbols import SYMBOLS_MARK

ANSWER_S = 30           # GDB's whole run: ~0.1 s to load, ~20 us an address


class SymbolError(Exception):
    pass


class Symbols:
    def __init__(self, elfs):
        argv = cmdline.gdb(setup=False, batch=True, symbols=elfs, commands=[
            "python import bootlab.trace.gdbsymbols as s; s.main()"])
        # GDB's Python finds the package as python3 does: on PYTHONPATH.
        path = os.pathsep.join(filter(None, [str(project.ROOT), os.environ.get("PYTHONPATH")]))
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True,
                                         env=dict(os.environ, PYTHONPATH=path),
                                         start_new_session=True,
                                         preexec_fn=proc.die_with_parent)
        except OSError as e:
            raise SymbolError("cannot start %s: %s" % (argv[0], e.strerror)) from None

    def look_up(self, addresses):
        """{address: [symbol, file, line, path]} for every address."""
        addresses = sorted(set(addresses))
        text = "".join("%x\n" % a for a in addresses)
        try:
            out, _ = self.proc.communicate(text, timeout=ANSWER_S)
        except subprocess.TimeoutExpired:
            self.close()
            raise SymbolError("GDB did not name the trace's %d addresses within %d s"
                              % (len(addresses), ANSWER_S)) from None
        line = next((l for l in out.splitlines() if l.startswith(SYMBOLS_MARK)), None)
        if line is None:
            raise SymbolError("GDB did not name the trace's addresses: %s"
                              % (out.strip().splitlines() or ["(no output)"])[-1])
        return dict(zip(addresses, json.loads(line[len(SYMBOLS_MARK):])))

    def close(self):
        if self.proc.poll() is None:
            proc.end_group(self.proc)
            self.proc.communicate()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def annotate(records, table):
    """sym, file, line and path into every insn record, from look_up()."""
    for rec in records:
        if rec["k"] == "insn":
            rec["sym"], rec["file"], rec["line"], rec["path"] = table[rec["lin"]]
