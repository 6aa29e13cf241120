"""The QEMU half of `make crosscheck`, run inside GDB (bootlab.bochs.crosscheck
starts it, with BOOTLAB_PROBE_OUT naming its output file).

It puts a breakpoint on every milestone (QEMU's gdbstub keeps software
breakpoints in TCG, not in guest memory, so they can be set before the code
is loaded), continues from stop to stop, and records the raw `monitor info
registers` text at each. At debug_exit it also records RDI (the exit status)
and the 4000 bytes of the VGA text buffer. All of it goes, unparsed, to a
JSON file: the parsers are the core's, where tests can feed them other text.
"""
import json
import os

import gdb

from .. import project, vga
from .scripting import end_session


def main():
    out = os.environ["BOOTLAB_PROBE_OUT"]
    build = os.environ.get("BOOTLAB_BUILD", str(project.BUILD))
    table = project.read_symbols(project.symbol_paths(build))
    wanted = project.NAMES + [project.END]
    addr_to_name = {table[n]: n for n in wanted}
    record = {"stops": [], "error": None}
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    for name in wanted:
        gdb.execute(f"break *{table[name]:#x}", to_string=True)
    try:
        for _ in wanted:
            gdb.execute("continue", to_string=True)
            pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
            regs = gdb.execute("monitor info registers", to_string=True)
            stop = {"name": addr_to_name.get(pc), "pc": pc, "registers": regs}
            record["stops"].append(stop)
            if stop["name"] == project.END:
                stop["rdi"] = int(gdb.parse_and_eval("$rdi")) & 0xffffffffffffffff
                mem = gdb.selected_inferior().read_memory(vga.VGA_TEXT_ADDR, vga.SCREEN_BYTES)
                stop["vga"] = bytes(mem).hex()
                break
            if stop["name"] is None:
                break
    except gdb.error as e:
        record["error"] = str(e)
    with open(out, "w") as f:
        json.dump(record, f)
    end_session()
