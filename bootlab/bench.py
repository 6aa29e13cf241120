#!/usr/bin/env python3
"""bench.py: how fast is the lab? Prints one table (`make bench`).

Each row is measured here, on this machine, against the figure the lab aims
for. Times are wall-clock; boot and debug rows are the median of several runs.
"""
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qemuargs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
RUNS = 5


def qemu_args():
    return [qemuargs.QEMU, *qemuargs.machine_args(), "-display", "none",
            *qemuargs.disk_args(BUILD / "bootlab.img")]


def timed(cmd, **kw):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, **kw)
    return time.perf_counter() - start, proc


def median_time(cmd, check=lambda p: True, **kw):
    times = []
    for _ in range(RUNS):
        t, proc = timed(cmd, **kw)
        if not check(proc):
            raise SystemExit(f"bench: {shlex.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}")
        times.append(t)
    return statistics.median(times)


def build_rows(tmp):
    clean, proc = timed(["make", "-s", f"B={tmp}"], cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"bench: build failed:\n{proc.stderr}")
    noop = median_time(["make", "-s", f"B={tmp}"], cwd=ROOT)
    size = subprocess.check_output(["size", "-A", f"{tmp}/boot/boot.o"], text=True)
    used = next(int(l.split()[1]) for l in size.splitlines() if l.startswith(".boot "))
    image = (Path(tmp) / "bootlab.img").stat().st_size
    return [
        ("clean build (make)", f"{clean:.2f} s", "<= 3 s"),
        ("no-op build (make again)", f"{noop:.3f} s", "<= 0.2 s"),
        ("boot sector used / free", f"{used} / {510 - used} bytes", "<= 510 used"),
        ("disk image size", f"{image} bytes ({image // 512} sectors)", ""),
    ]


def boot_rows():
    exit_ok = lambda p: p.returncode == 33
    t = median_time(qemu_args() + qemuargs.DEBUG_EXIT,
                    check=exit_ok)
    return [(f"QEMU headless boot to banner (median of {RUNS})", f"{t:.3f} s", "<= 0.3 s")]


def gdb_rows():
    """`make debug` without the prompt: the same GDB setup, then quit at 0x7c00."""
    cmd = gdb_session(["-ex", "thbreak *0x7c00", "-ex", "continue", "-ex", "kill"])
    t = median_time(cmd, check=lambda p: "boot_start" in p.stdout, cwd=ROOT)
    return [(f"make debug to the 0x7c00 stop (median of {RUNS})", f"{t:.3f} s", "<= 0.5 s")]


def gdb_session(extra):
    return ["gdb", "-q", "-nx", "-batch", "-x", "debug/lab.gdb",
            *(a for e in ("boot16", "boot32", "kernel")
              for a in ("-ex", f"add-symbol-file build/{e}.elf")),
            "-ex", qemuargs.gdb_target(qemu_args() + ["-S", "-gdb", "stdio"]), *extra]


def walk_rows():
    t = median_time(["make", "-s", "walk"], check=lambda p: p.returncode == 0, cwd=ROOT)
    return [(f"make walk, whole tour (median of {RUNS})", f"{t:.3f} s", "<= 1 s")]


def bochs_rows():
    t = median_time(["make", "-s", "walk-bochs"], check=lambda p: p.returncode == 0, cwd=ROOT)
    return [(f"make walk-bochs, whole tour (median of {RUNS})", f"{t:.3f} s", "<= 1.5 s")]


def extension_rows():
    _, proc = timed(gdb_session(["-x", "tools/bench_gdb.py"]), cwd=ROOT)
    figures = dict(line.split()[1:] for line in proc.stdout.splitlines()
                   if line.startswith("BENCH "))
    if len(figures) != 3:
        raise SystemExit(f"bench: GDB measurements failed:\n{proc.stdout}{proc.stderr}")
    return [
        ("context display at a stop (median)", f"{figures['context_ms']} ms", "<= 10 ms"),
        (f"bl next-mode ({figures['next_mode_steps']} stepi)",
         f"{figures['next_mode_rate']} steps/s", ">= 1000 steps/s"),
    ]


def trace_rows():
    t, proc = timed(["make", "-s", "trace"], cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"bench: make trace failed:\n{proc.stdout}{proc.stderr}")
    listed = sum(1 for l in (BUILD / "trace.txt").read_text().splitlines()
                 if re.match(r"\s*\d+\s", l))
    return [("make trace, 0x7c00 to the first VGA write", f"{t:.2f} s", "<= 5 s"),
            ("  instructions listed per second", f"{listed / t:.0f} /s", "")]


def rr_rows():
    """make record, then one replay session: to kmain, back to 0x7c00."""
    record, proc = timed(["python3", "debug/rr/record.py", "build/bootlab.img", "build/rr"],
                         cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"bench: make record failed:\n{proc.stderr}")
    rr = ["gdb", "-q", "-nx", "-batch", "-x", "debug/lab.gdb",
          "-ex", "add-symbol-file build/boot16.elf", "-ex", "add-symbol-file build/kernel.elf",
          "-ex", "target remote | exec python3 debug/rr/replay.py build/rr"]
    to_kmain = ["-ex", "break kmain", "-ex", "continue"]
    fwd = median_time(rr + to_kmain + ["-ex", "kill"], cwd=ROOT,
                      check=lambda p: "Breakpoint 1, kmain" in p.stdout)
    back = median_time(rr + to_kmain + ["-ex", "break *0x7c00", "-ex", "reverse-continue",
                                        "-ex", "kill"], cwd=ROOT,
                       check=lambda p: "Breakpoint 2, boot_start" in p.stdout)
    return [("make record (one boot, recorded)", f"{record:.2f} s", "<= 3 s"),
            (f"replay to kmain (median of {RUNS})", f"{fwd:.2f} s", "<= 1 s"),
            ("  + reverse-continue kmain -> 0x7c00", f"{back - fwd:.2f} s", "<= 1 s")]


EXTRA_ROWS = [("walk", walk_rows), ("extension", extension_rows), ("bochs", bochs_rows),
              ("trace", trace_rows), ("rr", rr_rows)]  # other parts of the lab append (name, function) pairs


def main():
    rows = []
    with tempfile.TemporaryDirectory(prefix="bootlab-bench-") as tmp:
        rows += build_rows(tmp)
    subprocess.run(["make", "-s"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    rows += boot_rows()
    rows += gdb_rows()
    for _name, fn in EXTRA_ROWS:
        rows += fn()
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>{vwidth}}  target")
    print(f"{'-' * width}  {'-' * vwidth}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>{vwidth}}  {target}")


if __name__ == "__main__":
    sys.exit(main())
