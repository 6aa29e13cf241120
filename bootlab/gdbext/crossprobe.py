"""The QEMU half of `make crosscheck`, run inside GDB (bootlab.bochs.crosscheck
starts it, with BOOTLAB_PROBE_OUT naming its output file).

It puts a breakpoint on every milestone (QEMU's gdbstub keeps software
breakpoints in TCG, not in guest memory, so they can be set before the code
is loaded), continues from stop to stop, and records at each the CPU that
stopped (GDB's thread N is CPU N-1), its linear PC and the raw `monitor info
registers` text of every CPU (`-a`: the monitor's plain `info registers`
describes one CPU, the monitor's current one, whichever stopped). At
debug_exit it also records RDI (the exit status) and the 4000 bytes of the
VGA text buffer. All of it goes, unparsed but for the PC, to a JSON file:
the parsers are the core's, where tests can feed them other text.

With several CPUs and the SMP kernel, each AP's milestones (project.
AP_MILESTONES, then ap_park) come between kmain and debug_exit, and every
stop must be the next one expected, on the CPU expected. Passed over (not
recorded): a stop that is no expected one (SeaBIOS starts each AP at
0x10000, with SIPI vector 0x10, to count them: CPU 1 at lm_entry's
address, long before the kernel is there) and a stop repeated where the CPU
already stopped (now and then GDB's step over the breakpoint does not move
the CPU). On the way to an AP's ap_park the other CPUs are held
(scheduler-locking on): that AP has just said it is online, and the BSP
would otherwise race it to debug_exit, or wake the next AP, whenever the
host is slow to run the AP's thread. At ap_start CS is 0x0a00: GDB's $pc is the bare IP (0), and GDB
does not know it stands on a breakpoint, so the probe steps that CPU past
it itself; likewise for the BIOS's AP at 0x10000 (CS 0x1000).
"""
import json
import os

import gdb

from .. import project, vga
from ..qemu import monitor
from .scripting import continue_for, end_session

ADDRESS_MASK = (1 << 64) - 1
LEG_LIMIT_S = 10         # one stop to the next takes milliseconds


def expected_stops(table, cpus):
    """[(milestone, CPU)] in the order the stops must come."""
    stops = [(name, 0) for name in project.NAMES]
    if cpus > 1 and project.AP_NAMES[0] in table:
        for ap in range(1, cpus):
            stops += [(name, ap) for name in project.AP_NAMES + [project.AP_PARK]]
    return stops + [(project.END, 0)]


def stopped_cpu():
    t = gdb.selected_thread()
    return max(t.ptid[1] - 1, 0)


def linear_pc(text, cpu):
    """CS.base + IP of CPU cpu, from `info registers -a`."""
    for regs in monitor.parse_all(text):
        if (regs.cpu or 0) == cpu:
            ip = regs.values.get("RIP", regs.values.get("EIP", 0))
            return (regs.segs["CS"].base + ip) & ADDRESS_MASK
    raise gdb.GdbError("crossprobe: no CPU %d in `info registers -a`" % cpu)


def where_all(text, table):
    """'CPU 0 at kmain+0x12, CPU 1 at 0xfef4' from `info registers -a`."""
    parts = []
    for regs in monitor.parse_all(text):
        lin = linear_pc(text, regs.cpu or 0)
        parts.append("CPU %d at %s" % (regs.cpu or 0, project.nearest_symbol(table, lin)))
    return ", ".join(parts)


def step_past(bp_numbers):
    """Leave a breakpoint GDB does not know it stands on (CS.base != 0):
    one step of this CPU alone with the breakpoints off."""
    bps = [bp for bp in gdb.breakpoints() if bp.number in bp_numbers]
    for bp in bps:
        bp.enabled = False
    try:
        gdb.execute("stepi", to_string=True)
    finally:
        for bp in bps:
            bp.enabled = True


def main():
    out = os.environ["BOOTLAB_PROBE_OUT"]
    build = os.environ.get("BOOTLAB_BUILD", str(project.BUILD))
    table = project.read_symbols(project.symbol_paths(build))
    cpus = len(gdb.selected_inferior().threads())
    expected = expected_stops(table, cpus)
    addr_to_name = {table[n]: n for n, _ in expected}
    record = {"stops": [], "error": None, "cpus": cpus, "passed": []}
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("set scheduler-locking step")    # stepi steps that CPU alone
    numbers = {}
    for addr in addr_to_name:
        gdb.execute(f"break *{addr:#x}", to_string=True)
        numbers[addr] = gdb.breakpoints()[-1].number
    previous = None
    try:
        for _ in range(2 * len(expected) + 8):     # each stop, and a few passed over
            want = expected[len(record["stops"])]
            hold = want[0] == project.AP_PARK
            if hold:
                gdb.execute("set scheduler-locking on")    # that AP alone runs
            try:
                _, timed_out = continue_for(LEG_LIMIT_S, to_string=True)
            finally:
                if hold:
                    gdb.execute("set scheduler-locking step")
            cpu = stopped_cpu()
            text = gdb.execute("monitor info registers -a", to_string=True)
            if timed_out:
                record["error"] = "no stop within %d s on the way to %s (CPU %d); interrupted: %s" % (
                    LEG_LIMIT_S, want[0], want[1], where_all(text, table))
                break
            pc = int(gdb.parse_and_eval("$pc")) & ADDRESS_MASK
            lin = linear_pc(text, cpu)
            name = addr_to_name.get(lin)
            if (name, cpu) != want and name is not None and (
                    (cpu, lin) == previous or (name, cpu) not in expected):
                record["passed"].append({"name": name, "cpu": cpu, "pc": lin})
            else:
                stop = {"name": name, "pc": lin, "cpu": cpu, "registers": text,
                        "expected": list(want)}
                record["stops"].append(stop)
                if (name, cpu) != want:
                    break
                previous = (cpu, lin)
                if name == project.END:
                    stop["rdi"] = int(gdb.parse_and_eval("$rdi")) & ADDRESS_MASK
                    mem = gdb.selected_inferior().read_memory(vga.VGA_TEXT_ADDR,
                                                              vga.SCREEN_BYTES)
                    stop["vga"] = bytes(mem).hex()
                    break
            if pc != lin and lin in numbers:
                step_past([numbers[lin]])
    except gdb.error as e:
        record["error"] = str(e)
    with open(out, "w") as f:
        json.dump(record, f)
    end_session()
