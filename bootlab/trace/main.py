"""`make trace`, every instruction from 0x7c00 to the first write to
VGA text memory as one annotated listing (build/trace.txt), with the mode
changes, control-register writes and BIOS calls summed up on the terminal.

It starts QEMU paused (bootlab.session); tracer.py steps the guest over
the gdbstub and makes one record per instruction; GDB, started alongside,
names their symbols and source lines (symbols.py); this module turns the
records into text (listing.py, summary.py, bios.py). The whole run is
bounded by --timeout, the number of instructions by --max.

--cpu N (make's TRACE_CPU=N, with SMP=M, N < M) traces application
processor N of the SMP kernel instead: from ap_start, the first instruction
its Start-Up IPI gave it, to its first write to VGA text memory (or to
ap_park, should it write none); --cpu 0, the BSP, is the usual trace. Not
CPU=: that is QEMU's CPU model for every target. --check only checks the
options (make runs it before it builds anything).

Usage: python3 -m bootlab.trace.main [--bios] [--max N] [--timeout S] [--cpu N] [--check]
                                     [--build DIR] [--out FILE]
Exit status 0 when the trace reached its end (a VGA write; ap_park for an
AP), 1 otherwise (one line why).
"""
import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from .. import project, remote, session
from ..qemu import cmdline
from . import tracer
from .bios import Describer
from .listing import (HIGHLIGHT, LEGEND, bios_line, insn_line, mode_banner, notes,
                      stage_heading, Sources)
from .summary import Summary
from .symbols import Symbols as Names, SymbolError, annotate

ROOT = project.ROOT
milestones = project
ELFS = project.ELF_FILES
COLOURS = {"stage": "1", "mode": "1;33", "mark": "36", "bios": "35", "end": "1;32",
           "fail": "1;31"}
MEANING = dict(project.MEANING, **{m.name: m.meaning for m in project.AP_MILESTONES})
ENDS_OK = ("vga", "park")          # the end records of a complete trace
DEATH_WAIT_S = 1.0                 # for a QEMU whose gdbstub went away to be gone


class TraceError(Exception):
    pass


def positive(text):
    try:
        value = int(text, 0)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError("%r is not a positive whole number" % text)
    return value


def smp():
    try:
        return cmdline.smp_from_env()
    except cmdline.BadOption as e:
        raise TraceError(str(e))


def traced_cpu(text, cpus):
    """TRACE_CPU= as a CPU number of a PC with `cpus` CPUs (None: SMP=
    not given, one CPU), or TraceError with the one line that says why not."""
    if text is None:
        return 0
    if not text.isdigit():
        raise TraceError("TRACE_CPU=%s: give a CPU number: 0 for the BSP (the default), 1 or "
                         "more for an AP (with SMP=)" % (text if text.isprintable() else repr(text)))
    cpu = int(text)
    if cpu and cpus is None:
        raise TraceError("TRACE_CPU=%d traces an application processor: give SMP=%d (or more) "
                         "too; without SMP= the PC has one CPU, CPU 0" % (cpu, cpu + 1))
    if cpu >= (cpus or 1):
        which = "CPU 0 only" if cpus == 1 else "CPUs 0 and 1" if cpus == 2 else \
            "CPUs 0 to %d" % (cpus - 1)
        raise TraceError("TRACE_CPU=%d: with SMP=%d the PC has %s" % (cpu, cpus, which))
    return cpu


def machine_for(image):
    """The lab's image on the machine make's CPU= MEM= SMP= QEMU_ARGS= shape
    (bootlab.cli checks them, as for make debug); TraceError for bad ones."""
    from .. import cli
    from ..own import check
    try:
        return cmdline.Machine(disk=image, **cli.machine_options())
    except check.Bad as e:
        raise TraceError(str(e)) from None


def run_trace(build, image, options, tmp):
    """The records of one trace, symbols and lines included. QEMU's own
    messages go to TRACE-qemu.log beside the listing (shown if it dies)."""
    machine = machine_for(image)
    deadline = time.monotonic() + options.timeout
    symbols = project.read_symbols(project.symbol_paths(build))
    try:
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd),
                          options.out.with_name(options.out.stem + "-qemu.log")) as qemu, \
                Names([build / e for e in ELFS]) as names:
            try:
                target = remote.Remote(qemu.port)
            except remote.RemoteError as e:
                raise TraceError(qemu.death_note() or str(e)) from None
            try:
                records = tracer.trace(target, options.cpu, symbols, options.bios,
                                       options.max, Path(tmp) / "exec.log", deadline)
            finally:
                target.close()
            end = records[-1]
            if end["reason"] == "error":        # QEMU's own words, if it died
                end["message"] = qemu.death_note(DEATH_WAIT_S if end.get("lost") else 0) \
                    or end["message"]
            table = names.look_up(r["lin"] for r in records if r["k"] == "insn")
    except (session.SessionError, SymbolError) as e:
        raise TraceError(str(e)) from None
    annotate(records, table)
    return records


def render(records, describer):
    """(listing lines, terminal lines with their colour, end record)."""
    start = records[0] if records and records[0]["k"] == "start" else {"symbols": {}}
    at = {addr: name for name, addr in start["symbols"].items()}
    order = [n for n in start.get("names", milestones.NAMES) if n in start["symbols"]]
    sources, summary = Sources(), Summary()
    full, term = [], []
    end = None

    def put(text, colour=None, show=True):
        full.append(text)
        if show:
            term.append((text, colour))

    for rec in records[1:]:
        if rec["k"] == "insn":
            name = at.get(rec["lin"])
            if name and not rec.get("in_bios") and (
                    not summary.stages or summary.stages[-1].name != name):
                summary.open(name, rec["mode"], rec["t"])
                put(stage_heading(order.index(name) + 1, len(order), name,
                                  MEANING[name], rec), "stage")
            summary.insn(rec)
            marked = rec["kind"] in HIGHLIGHT or "changed" in rec or "unfinished" in rec
            put(insn_line(rec, sources), "mark" if marked else None, show=marked)
            for note in notes(rec):
                put("   ! " + note, "mark", show=marked)
            if "mode_after" in rec:
                put(mode_banner((rec["mode"], rec["paging"]), rec["mode_after"]), "mode")
        elif rec["k"] == "bios":
            summary.bios(rec, re.match(r"INT \w+ \w+=\w+", describer.service(rec)).group(0))
            put(bios_line(rec, describer), "bios")
        elif rec["k"] == "end":
            end = rec
            summary.close(rec["t"])
    if end is None:
        raise TraceError("the trace has no end record")
    put(end_banner(end, records), "end" if end["reason"] in ENDS_OK else "fail")
    if end.get("empty_steps"):
        put("(QEMU answered %d single steps without executing anything; each was stepped "
            "again)" % end["empty_steps"], show=False)
    put("")
    for line in summary.lines():
        put(line, "stage" if line.startswith("==") else None)
    return full, term, end


def end_banner(end, records):
    last = next((r for r in reversed(records) if r["k"] == "insn"), None)
    where = ""
    if last:
        where = " at 0x%x %s" % (last["lin"], last["sym"])
        if last.get("file"):
            where += " (%s:%d)" % (last["file"], last["line"])
    if end["reason"] == "vga":
        cell = ""
        if end.get("written") is not None:
            cell = " wrote 0x%x (row %d, column %d)" % (end["written"], end["row"], end["column"])
        return "== first write to VGA text memory: instruction %d%s%s ==" % (
            last["n"], where, cell)
    if end["reason"] == "park" and last:
        return "== %s: after instruction %d%s ==" % (end["message"], last["n"], where)
    if last:
        return "== trace ended after instruction %d%s: %s ==" % (last["n"], where, end["message"])
    return "== trace ended: %s ==" % end["message"]


def shown_path(path):
    """path relative to the current directory when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def paint(text, colour, on):
    return "\033[%sm%s\033[0m" % (COLOURS[colour], text) if on and colour else text


class Options(argparse.ArgumentParser):
    def error(self, message):
        raise TraceError(message)    # one line, not argparse's usage block


def main(argv=None):
    p = Options(prog="make trace", description=__doc__.split("\n\n")[0])
    p.add_argument("--bios", action="store_true",
                   help="list BIOS calls instruction by instruction")
    p.add_argument("--max", type=positive, default=100000, help="most instructions to trace")
    p.add_argument("--timeout", type=positive, default=300, help="seconds for the whole run")
    p.add_argument("--cpu", default=None, help="trace this CPU (make's TRACE_CPU=; an AP: "
                   "from ap_start)")
    p.add_argument("--check", action="store_true", help="check the options, trace nothing")
    p.add_argument("--build", type=Path, default=ROOT / "build")
    p.add_argument("--out", type=Path, default=None)
    options = p.parse_args(argv)
    options.cpu = traced_cpu(options.cpu, smp())
    if options.check:
        return
    options.build = options.build.resolve()
    options.out = options.out or options.build / "trace.txt"
    image = options.build / "bootlab.img"
    missing = [str(f) for f in [image] + [options.build / e for e in ELFS] +
               project.symbol_paths(options.build) if not f.exists()]
    if missing:
        raise TraceError("missing %s: build first (make)" % ", ".join(missing))
    with tempfile.TemporaryDirectory(prefix="bootlab-trace-") as tmp:
        records = run_trace(options.build, image, options, tmp)
    if records[0]["k"] == "end":        # it ended before the first instruction
        raise TraceError(records[0]["message"])
    full, term, end = render(records, Describer())
    options.out.write_text("%s\n%s\n\n%s\n" % (title(options), LEGEND, "\n".join(full)))
    colour = (sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
              and "NO_COLOR" not in os.environ)
    if options.cpu:         # which CPU it is, before lines that look like the BSP's
        print(paint(title(options), "stage", colour))
    for text, c in term:
        print(paint(text, c, colour))
    print("full listing (%d instructions): %s" % (
        sum(1 for r in records if r["k"] == "insn"), shown_path(options.out)))
    if end["reason"] not in ENDS_OK:
        raise TraceError("%s; the listing so far is in %s"
                         % (end["message"], shown_path(options.out)))


def title(options):
    if options.cpu:
        return ("bootlab trace (make trace SMP=%d TRACE_CPU=%d): every instruction CPU %d "
                "executes from ap_start, the first its Start-Up IPI gave it, to its first write "
                "to VGA text memory." % (smp(), options.cpu, options.cpu))
    return ("bootlab trace (make trace%s): every instruction from 0x7c00 to the first write "
            "to VGA text memory." % (" BIOS=1" if options.bios else ""))


def run():
    try:
        main()
    except TraceError as e:
        sys.stdout.flush()
        print("trace: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from .. import proc
    proc.entry_point(run, "trace")
