"""qemu_probe.py: the QEMU half of `make crosscheck`, run inside GDB.

    gdb -batch -nx -x debug/bochs/qemu_probe.py \
        -ex 'target remote | exec qemu-system-x86_64 ... -S -gdb stdio' ...

crosscheck.py starts it; it needs no GDB extension. It puts a breakpoint on
every transition label (QEMU's gdbstub keeps software breakpoints in TCG, not
in guest memory, so they can be set before the code is loaded), continues
from stop to stop, and records the raw `monitor info registers` text at each
(the hidden descriptor caches, GDT=, CR0-4 and EFER are only there). At
debug_exit it also records RDI (the exit status) and the 4000 bytes of the
VGA text buffer. All of it goes, unparsed, to the JSON file named by
$BOOTLAB_PROBE_OUT: the parsers live in crosscheck.py, where tests can
feed them other text.
"""

import json
import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochslab                     # noqa: E402
import bochsparse                   # noqa: E402
import milestones                   # noqa: E402

OUT = os.environ["BOOTLAB_PROBE_OUT"]
table = milestones.read_symbols(bochslab.symbol_paths(os.environ.get("BOOTLAB_BUILD", bochslab.BUILD)))
wanted = milestones.NAMES + [milestones.END]
addr_to_name = {table[n]: n for n in wanted}
record = {"stops": [], "error": None}


def save():
    with open(OUT, "w") as f:
        json.dump(record, f)


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
        if stop["name"] == milestones.END:
            stop["rdi"] = int(gdb.parse_and_eval("$rdi")) & 0xffffffffffffffff
            mem = gdb.selected_inferior().read_memory(bochsparse.VGA_TEXT_ADDR, bochsparse.VGA_BYTES)
            stop["vga"] = bytes(mem).hex()
            break
        if stop["name"] is None:
            break
except gdb.error as e:
    record["error"] = str(e)
save()
gdb.execute("kill")
