"""Measurements taken inside GDB for `make bench` (bootlab/bench.py).

Each function runs in a GDB session the bench started and prints lines
"BENCH name value". What is measured is what a learner runs: GDB's own
stepi with the context display, bootlab's raw stepping, `bl maps` next to
QEMU's `monitor info mem`.
"""
import re
import statistics
import time

import gdb

from . import scripting, snapshot

STEPS = 200


def say(name, value):
    gdb.write("BENCH %s %s\n" % (name, value))
    gdb.flush()


def run_to(spec):
    gdb.execute("tbreak %s" % spec, to_string=True)
    _, timed_out = scripting.continue_for(30, to_string=True)
    if timed_out:
        raise gdb.GdbError("bench: did not get to %s" % spec)


def stepi_cost(context):
    """ms per `stepi` (median of STEPS), with or without the context display."""
    gdb.execute("set bootlab context %s" % ("on" if context else "off"), to_string=True)
    costs = []
    for _ in range(STEPS):
        t0 = time.perf_counter()
        gdb.execute("stepi", to_string=True)
        costs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(costs)


def kmain_stepping():
    """At kmain (64-bit code): stepi with the display on, and how often the
    monitor was asked meanwhile."""
    run_to("kmain")
    before = snapshot.monitor_reads[0]
    say("stepi_context_ms", "%.3f" % stepi_cost(True))
    say("stepi_monitor_reads", snapshot.monitor_reads[0] - before)
    say("stepi_plain_ms", "%.3f" % stepi_cost(False))


def stock_stepping():
    """GDB without the extension: stepi alone (the peer)."""
    costs = []
    for _ in range(STEPS):
        t0 = time.perf_counter()
        gdb.execute("stepi", to_string=True)
        costs.append((time.perf_counter() - t0) * 1000)
    say("stock_stepi_ms", "%.3f" % statistics.median(costs))


def next_mode():
    """bl next-mode from pm_entry to CR0.PG, through the page-table loop."""
    run_to("pm_entry")
    gdb.execute("set bootlab context off", to_string=True)
    out = gdb.execute("bl next-mode", to_string=True)
    m = re.search(r"(\d+) steps in ([\d.]+) s", out)
    say("next_mode_steps", m.group(1))
    say("next_mode_rate", "%.0f" % (int(m.group(1)) / max(float(m.group(2)), 1e-6)))


def time_commands(commands, runs):
    """Each (name, command) timed `runs` times at this stop: "BENCH name_s"
    the median, and "BENCH name_lines" its output's length."""
    for name, command in commands:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            text = gdb.execute(command, to_string=True)
            times.append(time.perf_counter() - t0)
        say("%s_s" % name, "%.5f" % statistics.median(times))
        say("%s_lines" % name, len(text.splitlines()))


def maps_vs_info_mem(label_address):
    """bl maps and monitor info mem, each timed, at the same stop."""
    run_to("*%s" % label_address)
    gdb.execute("set bootlab context off", to_string=True)
    time_commands([("maps", "bl maps"), ("info_mem", "monitor info mem")], 3)


def cpus_vs_monitor(label):
    """bl cpus and `monitor info registers -a` (the one monitor read it
    makes), each timed, at the same stop with every CPU started."""
    run_to(label)
    gdb.execute("set bootlab context off", to_string=True)
    time_commands([("cpus", "bl cpus"), ("info_registers_a", "monitor info registers -a")], 5)
