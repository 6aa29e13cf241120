"""The grader's probe, run inside GDB (bootlab.lab.gradelib.Session starts
it). Follows a plan of steps against the live machine and writes what it saw
as JSON to the file named by $BOOTLAB_PROBE_OUT, so the grader compares
answers with the machine, not with constants (and nothing of it reaches
GDB's output, which the learner may read in a log).

The plan (JSON, in the file named by $BOOTLAB_PROBE_PLAN) is a list of
steps, each a list: [op, name, argument...]:
  ["run", name, where]      continue to a temporary hardware breakpoint at
                            `where` (a symbol or *ADDR); records whether the
                            stop came, and where the CPU stopped instead
  ["cont", name]            plain continue (bounded); records the stop
  ["eval", name, expr]      a GDB expression, as an integer
  ["mem", name, addr, len]  bytes at a linear address, as hex
  ["gdb", name, command]    a GDB command; records its output
  ["source", name, file]    source a learner's GDB script; records errors
"""
import json
import os
import threading

import gdb

from . import scripting as bounded

STOP_LIMIT_S = float(os.environ.get("BOOTLAB_PROBE_LIMIT", "10"))
facts = {}


def bounded_continue():
    """continue, interrupted after STOP_LIMIT_S; returns a description of the
    stop ("timeout" when it had to be interrupted)."""
    try:
        text, timed_out = bounded.continue_for(STOP_LIMIT_S, to_string=True)
    except gdb.error as e:
        return f"error: {e}"
    return "timeout" if timed_out else text


def safe_pc():
    try:
        return int(gdb.parse_and_eval("$pc"))
    except gdb.error:
        return None


def step(op, name, *args):
    if op == "run":
        bp = gdb.Breakpoint(args[0], type=gdb.BP_HARDWARE_BREAKPOINT, temporary=True,
                            internal=True)
        text = bounded_continue()
        hit = bp.is_valid() is False or bp.hit_count > 0
        if bp.is_valid():
            bp.delete()
        facts[name] = {"reached": hit, "stop": text[-400:], "pc": safe_pc()}
    elif op == "cont":
        facts[name] = bounded_continue()[-2000:]
    elif op == "eval":
        value = gdb.parse_and_eval(args[0])
        facts[name] = int(value) & ((1 << (8 * value.type.sizeof)) - 1)
    elif op == "mem":
        data = gdb.selected_inferior().read_memory(int(gdb.parse_and_eval(str(args[0]))), args[1])
        facts[name] = bytes(data).hex()
    elif op == "gdb":
        facts[name] = gdb.execute(args[0], to_string=True)
    elif op == "source":
        # A learner's script may `continue` into a hang: bound it like a stop.
        timer = threading.Timer(STOP_LIMIT_S, lambda: gdb.post_event(
            lambda: gdb.execute("interrupt")))
        timer.start()
        try:
            facts[name] = {"output": gdb.execute(f"source {args[0]}", to_string=True)[-2000:],
                           "error": None}
        except gdb.error as e:
            facts[name] = {"output": "", "error": str(e)}
        finally:
            timer.cancel()
    else:
        raise gdb.GdbError(f"probe: unknown step {op}")


def main():
    with open(os.environ["BOOTLAB_PROBE_PLAN"]) as f:
        plan = json.load(f)
    for entry in plan:
        try:
            step(*entry)
        except (gdb.error, gdb.MemoryError) as e:
            facts[entry[1]] = {"error": str(e)}
        # After every step: a learner's script that quits GDB still leaves
        # what was seen before it.
        save()
    bounded.end_session()


def save():
    path = os.environ["BOOTLAB_PROBE_OUT"]
    with open(path + ".tmp", "w") as f:
        json.dump(facts, f)
    os.replace(path + ".tmp", path)
