"""make bench: how fast is the lab, next to its floors and its peers?

Each row is measured in this run, on this machine, next to what it is
compared with: the floor (the same work with nothing of bootlab in the way:
stock GDB over the same link, or a bare remote-protocol client) or a peer
(the classic xv6 flow: QEMU with -gdb tcp, GDB attached by hand). Pairs are
run interleaved (A B A B ...) and the median of the pairwise ratios is
given, so a machine whose speed drifts still compares fairly. Absolute
times are printed too, but only the ratios travel between machines.

    python3 -m bootlab.bench [--runs N] [--readme]

--readme rewrites the table in README.md (between the `bench` markers).
The table also goes to build/bench.md.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import gdbstub, guest, proc, project, session
from .qemu import cmdline

ROOT, BUILD = project.ROOT, project.BUILD
IMAGE = BUILD / "bootlab.img"
PY = sys.executable
LIMIT_S = 120


class BenchError(Exception):
    pass


def timed(argv, input=None, env=None, check=None):
    t0 = time.perf_counter()
    result = proc.run(argv, LIMIT_S, input=input, cwd=ROOT, env=env)
    dt = time.perf_counter() - t0
    if result.timed_out or (check and not check(result)):
        raise BenchError("%s failed:\n%s" % (" ".join(map(str, argv)), result.output[-2000:]))
    return dt, result


def pair(a, b, runs):
    """Medians of a() and b() (each returns seconds), interleaved, and the
    median of the ratios a/b."""
    ta, tb = [], []
    for _ in range(runs):
        ta.append(a())
        tb.append(b())
    ratios = [x / y for x, y in zip(ta, tb)]
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


# ---- start-up: make debug, stock GDB, the xv6 flow -------------------------------

def debug_startup():
    """make debug's own path (python3 -m bootlab.cli debug), to the prompt
    at 0x7c00, then quit."""
    return timed([PY, "-m", "bootlab.cli", "debug"], input="quit\n",
                 check=lambda r: "boot_start ()" in r.output)[0]


def stock_startup():
    """The floor: GDB with no extension and no symbols, over the same link,
    stopped at the same place."""
    return timed([PY, "-m", "bootlab.bench", "--stock-session"],
                 check=lambda r: "0x7c00" in r.output)[0]


def xv6_startup():
    """The xv6 flow (make qemu-nox-gdb, then gdb): QEMU listening on a TCP
    port of its own, GDB attached by hand; stopped at 0x7c00."""
    return timed([PY, "-m", "bootlab.bench", "--xv6-session"],
                 check=lambda r: "0x7c00" in r.output)[0]


def stock_session():
    machine = cmdline.Machine(disk=IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), Path(tmp, "q.log")) as q:
            r = session.batch_gdb(q, ["gdb", "-nx", "-q", "-batch", "-ex", q.target,
                                      "-ex", "thbreak *0x7c00", "-ex", "continue"], 60)
    print(r.output)


def xv6_session():
    with tempfile.TemporaryDirectory() as tmp:
        s = session.listen()         # a free port, closed again: as xv6 picks one
        port = s.getsockname()[1]
        s.close()
        qemu = subprocess.Popen(cmdline.qemu(cmdline.Machine(disk=IMAGE), paused=True,
                                             extra=["-gdb", "tcp:127.0.0.1:%d" % port]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=proc.die_with_parent)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:     # xv6's gdb retries too
                r = proc.run(["gdb", "-nx", "-q", "-batch", "-ex",
                              "target remote 127.0.0.1:%d" % port, "-ex", "thbreak *0x7c00",
                              "-ex", "continue"], 60)
                if "Connection refused" not in r.output:
                    break
            print(r.output)
        finally:
            qemu.kill()
            qemu.wait()


# ---- inside GDB ------------------------------------------------------------------------

def probe(function, machine=None, symbols=True, extension=True, args=""):
    """Run bootlab.gdbext.benchprobe.FUNCTION(args) in GDB; {name: value}."""
    return probe_with(project.elf_paths() if symbols else (), function, machine, extension, args)


def probe_with(symbols, function, machine=None, extension=True, args=""):
    machine = machine or cmdline.Machine(disk=IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        # As make debug runs it: the guest's RAM shared with GDB.
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), Path(tmp, "q.log"),
                          ram_bytes=cmdline.ram_bytes(machine)) as q:
            commands = [q.target]
            if extension:
                commands.append("python import bootlab.gdbext.benchprobe as b; b.%s(%s)"
                                % (function, args))
            else:
                commands += ["python import sys; sys.path.insert(0, %r)" % str(ROOT),
                             "tbreak kmain", "continue",
                             "python import bootlab.gdbext.benchprobe as b; b.%s(%s)"
                             % (function, args)]
            argv = cmdline.gdb(setup=extension, batch=True, symbols=symbols, commands=commands)
            r = session.batch_gdb(q, argv, LIMIT_S, cwd=ROOT)
    found = dict(re.findall(r"^BENCH (\S+) (\S+)$", r.output, re.M))
    if not found:
        raise BenchError("bench probe %s failed:\n%s" % (function, r.output[-2000:]))
    return found


def raw_floor(steps):
    """A bare remote-protocol client (no GDB): stop at pm_entry, then `s` and
    `g` per step, the least any stepper over this link can cost."""
    pm_entry = project.read_symbols(project.symbol_paths())["pm_entry"]
    machine = cmdline.Machine(disk=IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), Path(tmp, "q.log")) as q:
            c = gdbstub.Client(q.port)
            try:
                c.request(b"qSupported")
                c.request(b"?")
                c.request(b"Z1,%x,1" % pm_entry)
                c.request(b"c")
                c.request(b"z1,%x,1" % pm_entry)
                t0 = time.perf_counter()
                for _ in range(steps):
                    c.request(b"s")
                    c.request(b"g")
                rate = steps / (time.perf_counter() - t0)
            finally:
                c.close()
    return rate


# ---- the table ----------------------------------------------------------------------------

class Row:
    def __init__(self, measure, ours, theirs="", ratio=None, goal="", met=None):
        self.measure, self.ours, self.theirs = measure, ours, theirs
        self.ratio, self.goal, self.met = ratio, goal, met

    def cells(self):
        ratio = "" if self.ratio is None else "%.2f" % self.ratio
        met = "" if self.met is None else ("yes" if self.met else "NO")
        return [self.measure, self.ours, self.theirs, ratio, self.goal, met]


def rows(runs):
    out = []
    # Start-up: make debug to the 0x7c00 prompt, against the floor and the peer.
    ours, floor, r = pair(debug_startup, stock_startup, runs)
    out.append(Row("make debug to the 0x7c00 prompt / stock GDB, same link", "%.3f s" % ours,
                   "%.3f s" % floor, r, "<= 1.3", r <= 1.3))
    ours, peer, r = pair(debug_startup, xv6_startup, runs)
    out.append(Row("make debug to the 0x7c00 prompt / the xv6 flow", "%.3f s" % ours,
                   "%.3f s" % peer, r, "<= 1.0", r <= 1.0))

    # Stepping: bl next-mode against the raw floor; stepi with the display.
    rates, floors = [], []
    for _ in range(max(2, runs // 2)):
        nm = probe("next_mode")
        rates.append(float(nm["next_mode_rate"]))
        floors.append(raw_floor(int(nm["next_mode_steps"])))
    share = statistics.median(a / b for a, b in zip(rates, floors))
    out.append(Row("bl next-mode steps/s / raw s+g floor (%s steps)" % nm["next_mode_steps"],
                   "%.0f /s" % statistics.median(rates), "%.0f /s" % statistics.median(floors),
                   share, ">= 0.80", share >= 0.8))
    k = probe("kmain_stepping")
    stock = probe("stock_stepping", extension=False)
    ms = float(k["stepi_context_ms"])
    out.append(Row("stepi with the context display, 64-bit code (monitor asked %s times)"
                   % k["stepi_monitor_reads"], "%.2f ms" % ms,
                   "%.2f ms" % float(stock["stock_stepi_ms"]),
                   ms / float(stock["stock_stepi_ms"]), "<= 1.0 ms", ms <= 1.0))

    # bl maps against QEMU's own info mem, on a 4 GiB map of 4 KiB pages.
    out += maps_rows()

    # Several CPUs: boot time by CPU count, and bl cpus on 8 of them.
    out += smp_rows(runs)

    # The rest of the lab, each against its own goal.
    out += trace_rows()
    out += absolute_rows(runs)
    return out


def maps_rows():
    with tempfile.TemporaryDirectory() as tmp:
        image, labels = guest.build("bigmap", tmp)
        m = probe("maps_vs_info_mem", machine=cmdline.Machine(disk=image), symbols=False,
                  args="%d" % labels["mapped"])
    ours, theirs = float(m["maps_s"]), float(m["info_mem_s"])
    return [Row("bl maps / monitor info mem, 4 GiB of 4 KiB pages (2048 tables)",
                "%.3f s" % ours, "%.3f s" % theirs, ours / theirs, "<= 1.0", ours <= theirs)]


SMP_COUNTS = (1, 2, 4, 8)


def smp_rows(runs):
    """The SMP kernel (make SMP=N: the same image for every N) booted
    headless to debug_exit with 1, 2, 4 and 8 CPUs, each against the
    default one-CPU kernel; then bl cpus with 8 CPUs at debug_exit (every AP
    started and parked) against the monitor read it is made of."""
    success = (project.const("DEBUG_EXIT_SUCCESS") << 1) | 1
    with tempfile.TemporaryDirectory(prefix="bootlab-bench-smp-") as tmp:
        timed(["make", "-s", "B=%s" % tmp, "SMP=%d" % SMP_COUNTS[-1]], check=lambda r: r.ok)
        smp_image = Path(tmp, "bootlab.img")

        def boot(image, n=None):
            argv = cmdline.qemu(cmdline.Machine(disk=image, smp=n), debug_exit=True)
            return lambda: timed(argv, check=lambda r: r.status == success)[0]
        out = []
        for n in SMP_COUNTS:
            ours, floor, r = pair(boot(smp_image, n), boot(IMAGE), runs)
            out.append(Row("boot to debug_exit, SMP kernel with %d CPU%s / the one-CPU kernel"
                           % (n, "s" if n > 1 else ""), "%.3f s" % ours, "%.3f s" % floor, r,
                           "", None))
        symbols = [Path(tmp, name) for name in ("boot16.elf", "boot32.elf", "kernel.elf")]
        machine = cmdline.Machine(disk=smp_image, smp=SMP_COUNTS[-1])
        m = probe_with(symbols, "cpus_vs_monitor", machine, args='"debug_exit"')
    ours, theirs = float(m["cpus_s"]), float(m["info_registers_a_s"])
    out.append(Row("bl cpus, 8 CPUs / its one monitor read (info registers -a)",
                   "%.2f ms" % (ours * 1000), "%.2f ms" % (theirs * 1000), ours / theirs))
    return out


TRACE_RUNS = 3


def trace_rows():
    """make trace's stepping rate: instructions per second of tracing over
    the stages that make no BIOS call (those run the BIOS at full speed,
    which is not stepping), from the summary's host times, against the raw
    floor measured right before each trace (pairs interleaved, the median
    of their ratios)."""
    rates, floors = [], []
    for _ in range(TRACE_RUNS):
        floors.append(raw_floor(TRACE_FLOOR_STEPS))
        rates.append(trace_rate())
    share = statistics.median(a / b for a, b in zip(rates, floors))
    return [Row("make trace instructions/s (stages without BIOS calls) / raw s+g floor",
                "%.0f /s" % statistics.median(rates), "%.0f /s" % statistics.median(floors),
                share, ">= 0.80", share >= 0.8)]


TRACE_FLOOR_STEPS = 2066       # as many as the trace's pm_entry stage steps


def trace_rate():
    _, r = timed(["make", "-s", "trace"], check=lambda r: r.ok)
    steps = seconds = 0
    for m in re.finditer(r"^(\w+)\s+\S.*?\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+) ms$",
                         r.output, re.M):
        if m.group(1) != "total" and m.group(4) == "0":
            steps, seconds = steps + int(m.group(2)), seconds + float(m.group(6)) / 1000
    if not steps:
        raise BenchError("make trace printed no summary:\n%s" % r.output[-2000:])
    return steps / seconds


def within(what, seconds, limit):
    """A row of an absolute time against its own bound (seconds)."""
    return Row(what, "%.3f s" % seconds if seconds < 1 else "%.2f s" % seconds,
               goal="<= %g s" % limit, met=seconds <= limit)


def absolute_rows(runs):
    def median_of(argv, check=None):
        return statistics.median(timed(argv, check=check)[0] for _ in range(runs))
    out = []
    with tempfile.TemporaryDirectory(prefix="bootlab-bench-") as tmp:
        t0 = time.perf_counter()
        timed(["make", "-s", "B=%s" % tmp])
        out.append(within("clean build (make)", time.perf_counter() - t0, 3))
        out.append(within("no-op build (make again)", median_of(["make", "-s", "B=%s" % tmp]), 0.2))
    success = (project.const("DEBUG_EXIT_SUCCESS") << 1) | 1
    boot = median_of(cmdline.qemu(cmdline.Machine(disk=IMAGE), debug_exit=True),
                     check=lambda r: r.status == success)
    out.append(within("QEMU headless boot to debug_exit", boot, 0.3))
    for what, argv, limit in (("make tour (whole GDB tour)", ["make", "-s", "tour"], 1.5),
                              ("make tour-bochs", ["make", "-s", "tour-bochs"], 1.5),
                              ("make crosscheck", ["make", "-s", "crosscheck"], 3)):
        out.append(within(what, median_of(argv, check=lambda r: r.ok), limit))
    t, _ = timed(["make", "-s", "record"], check=lambda r: r.ok)
    out.append(within("make record (one boot, recorded)", t, 3))
    return out


def table(rows_):
    head = ["measure", "bootlab", "floor or peer", "ratio", "goal", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows_]
    return "\n".join(lines)


README_MARK = re.compile(r"(<!-- bench: generated by make bench -->\n)(.*?)(\n<!-- /bench -->)", re.S)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's table")
    ap.add_argument("--stock-session", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--xv6-session", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.stock_session:
        return stock_session()
    if args.xv6_session:
        return xv6_session()
    try:
        result = rows(max(1, args.runs))
    except (BenchError, session.SessionError) as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    text = table(result)
    stamp = "Measured %s on %s (%d runs per pair, medians; ratios are bootlab / floor or peer)." % (
        time.strftime("%Y-%m-%d"), proc_cpu(), args.runs)
    print(text)
    print(stamp)
    (BUILD / "bench.md").write_text(text + "\n\n" + stamp + "\n")
    if args.readme:
        readme = ROOT / "README.md"
        s = readme.read_text()
        if not README_MARK.search(s):
            print("bench: README.md has no bench markers", file=sys.stderr)
            return 1
        readme.write_text(README_MARK.sub(lambda m: m.group(1) + text + "\n\n" + stamp + m.group(3), s))
    return 0 if all(r.met is not False for r in result) else 1


def proc_cpu():
    try:
        model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        import os
        return "%d x %s" % (os.cpu_count() or 1, model.group(1).strip() if model else "CPU")
    except OSError:
        return "this machine"


if __name__ == "__main__":
    proc.entry_point(main, "bench")
