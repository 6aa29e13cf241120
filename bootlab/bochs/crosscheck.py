"""make crosscheck: do QEMU (under GDB) and Bochs agree on every milestone?

`make crosscheck` boots build/bootlab.img in both emulators and stops at each
transition (boot_start ... kmain) and at debug_exit. At each it compares
CR0, CR3, CR4, EFER, the CS/DS/SS selectors, the mode CS runs in (16/32/64)
and GDTR base and limit; at the end, the VGA text screen. Any difference is
printed field by field and the exit status is 1.

Where the two PCs differ by design, not by a bug, the difference is printed
as a note and does not fail (--strict makes it fail too):
- CR0.CD and CR0.NW: cache control left by the BIOS (Bochs' BIOS keeps the
  reset value 0x60000010, SeaBIOS clears both); bootlab never touches them.
- GDTR before gdt_loaded: still the BIOS's own GDT.
- Screen lines that print the BIOS's E820 memory map: each BIOS reports its
  own map. They are left out of the screen comparison on both sides.

Sources of the values:
- QEMU: `monitor info registers` (hidden caches, GDT=, CR0-4, EFER),
  collected by bootlab.gdbext.crossprobe inside `gdb -batch`, attached to a
  paused QEMU (bootlab.session), and parsed by the core
  (bootlab.qemu.monitor).
- Bochs: `creg` and `sreg` at the same stops (tour.py).
The parsers below take text and return plain dicts, apart from the runners,
so tests can feed them states that differ on purpose (--load).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from .. import proc, project, session
from ..qemu import cmdline, monitor
from . import driver, parse
from .tour import Tour

K = parse.K
# CR0.CD and CR0.NW (SDM Vol. 3A 2.5) are the firmware's business: Bochs' BIOS
# leaves them set, SeaBIOS clears them.
CR0_BIOS_BITS = K["CR0_CD"] | K["CR0_NW"]

FIELDS = [  # (key, label, format)
    ("cr0", "CR0", "{:#x}"), ("cr3", "CR3", "{:#x}"), ("cr4", "CR4", "{:#x}"),
    ("efer", "EFER", "{:#x}"), ("cs", "CS", "{:#06x}"), ("ds", "DS", "{:#06x}"),
    ("ss", "SS", "{:#06x}"), ("cs_mode", "CS mode", "{}-bit"),
    ("gdtr_base", "GDTR base", "{:#x}"), ("gdtr_limit", "GDTR limit", "{:#x}"),
]
# Screen lines that show the BIOS's E820 map (kernel/kmain.c report_boot_info).
BIOS_SCREEN_LINES = [
    re.compile(r"^E820 memory map, \d+ entries:$"),
    re.compile(r"^\s+[0-9a-f]{16} - [0-9a-f]{16}\s+\S.*$"),
    re.compile(r"^usable RAM: \d+ KiB$"),
]
GDB_LIMIT = 60              # whole QEMU run; it takes about 0.3 s


# ---- Parsers -----------------------------------------------------------------------------

def parse_qemu_registers(text):
    """`monitor info registers` -> the cross-check fields."""
    try:
        regs = monitor.parse(text)
    except monitor.MonitorError as e:
        raise parse.ParseError("%s:\n%s" % (e, text))
    for name in ("CS", "DS", "SS"):
        if name not in regs.segs:
            raise parse.ParseError(f"no {name} line in QEMU's info registers:\n{text}")
    if "GDT" not in regs.tables:
        raise parse.ParseError("no GDT= line in QEMU's info registers:\n" + text)
    v, seg = regs.values, regs.segs
    return {
        "cr0": v["CR0"], "cr3": v["CR3"], "cr4": v["CR4"], "efer": v["EFER"],
        "cs": seg["CS"].selector, "ds": seg["DS"].selector, "ss": seg["SS"].selector,
        "cs_mode": parse.cs_mode(v["CR0"], v["EFER"], seg["CS"].flags),
        "gdtr_base": regs.tables["GDT"][0], "gdtr_limit": regs.tables["GDT"][1],
    }


def screen_for_compare(lines, strict=False):
    """[(row, text)] of the screen lines that both PCs must show alike."""
    keep = []
    for row, line in enumerate(lines):
        if not strict and any(p.match(line) for p in BIOS_SCREEN_LINES):
            continue
        keep.append((row, line))
    while keep and not keep[-1][1]:
        keep.pop()
    return keep


def compare(qemu, bochs, strict=False):
    """Compare two run results ({"stops": {name: state}, "screen": [lines],
    "status": int}). Returns (differences, notes), lists of strings that
    name the milestone and the field."""
    diffs, notes = [], []
    gdt_from = project.NAMES.index("gdt_loaded")
    for i, name in enumerate(project.NAMES):
        q, b = qemu["stops"].get(name), bochs["stops"].get(name)
        if q is None or b is None:
            who = "QEMU" if q is None else "Bochs"
            diffs.append(f"{name}: not reached in {who}")
            continue
        for key, label, fmt in FIELDS:
            qv, bv = q[key], b[key]
            if qv == bv:
                continue
            line = f"{name}: {label} differs: QEMU {fmt.format(qv)}, Bochs {fmt.format(bv)}"
            if not strict and key == "cr0" and (qv ^ bv) & ~CR0_BIOS_BITS == 0:
                notes.append(line + " (only CD/NW, the BIOS's cache setting)")
            elif not strict and key.startswith("gdtr") and i < gdt_from:
                notes.append(line + " (the BIOS's GDT, before gdt_loaded)")
            else:
                diffs.append(line)
    if qemu.get("status") != bochs.get("status"):
        diffs.append(f"debug_exit: status differs: QEMU {qemu.get('status')}, Bochs {bochs.get('status')}")
    qs, bs = screen_for_compare(qemu["screen"], strict), screen_for_compare(bochs["screen"], strict)
    for n in range(max(len(qs), len(bs))):
        qrow, qline = qs[n] if n < len(qs) else (None, "<no line>")
        brow, bline = bs[n] if n < len(bs) else (None, "<no line>")
        if qline != bline:
            diffs.append(f"screen: VGA text differs: QEMU row {qrow}: {qline!r}, Bochs row {brow}: {bline!r}")
    if not strict:
        left_out = sum(1 for l in qemu["screen"] + bochs["screen"]
                       if any(p.match(l) for p in BIOS_SCREEN_LINES))
        if left_out:
            notes.append(f"screen: {left_out} lines of the BIOSes' E820 maps left out of the comparison")
    return diffs, notes


# ---- Runners -------------------------------------------------------------------------------

def run_qemu(image, build=driver.BUILD):
    with tempfile.TemporaryDirectory(prefix="bootlab-crosscheck-") as tmp:
        out = os.path.join(tmp, "probe.json")
        machine = cmdline.Machine(disk=image)
        with session.Qemu(lambda fd: cmdline.qemu(machine, debugcon=Path(tmp, "debugcon.log"),
                                                   gdb_fd=fd), Path(tmp, "qemu.log")) as qemu:
            argv = cmdline.gdb(setup=False, batch=True, commands=[
                qemu.target, "python import bootlab.gdbext.crossprobe as p; p.main()"])
            env = dict(os.environ, BOOTLAB_PROBE_OUT=out, BOOTLAB_BUILD=str(build),
                       PYTHONPATH=str(project.ROOT))
            result = session.batch_gdb(qemu, argv, GDB_LIMIT, cwd=project.ROOT, env=env)
        if result.timed_out:
            raise driver.BochsError(f"QEMU under GDB did not finish within {GDB_LIMIT} s")
        if not os.path.exists(out):
            raise driver.BochsError("the GDB probe wrote nothing; GDB said:\n" + result.output[-2000:])
        with open(out) as f:
            record = json.load(f)
    result = {"stops": {}, "screen": [], "status": None}
    for stop in record["stops"]:
        if stop["name"] is None:
            raise driver.BochsError(f"QEMU stopped at {stop['pc']:#x}, not at a milestone")
        if stop["name"] == project.END:
            result["status"] = stop["rdi"] & 0xff
            result["screen"] = parse.vga_lines(bytes.fromhex(stop["vga"]))
        else:
            result["stops"][stop["name"]] = parse_qemu_registers(stop["registers"])
    if record["error"]:
        raise driver.BochsError(f"QEMU run stopped after {len(record['stops'])} milestones: {record['error']}")
    return result


def run_bochs(image):
    result = {"stops": {}, "screen": [], "status": None}
    run_dir = driver.RunDir(image)
    try:
        with driver.BochsSession(run_dir, "term") as session:
            tour = Tour(session)

            def visit(name, stop):
                if name != project.END:
                    result["stops"][name] = parse.state(session.command("creg"), session.command("sreg"))
            end = tour.run(visit)
            result["status"] = end["status"]
            result["screen"] = tour.screen()
    finally:
        run_dir.remove()
    return result


# ---- Report -----------------------------------------------------------------------------------

def summary(state):
    return (f"CR0={state['cr0']:#x} CR3={state['cr3']:#x} CR4={state['cr4']:#x} EFER={state['efer']:#x} "
            f"CS={state['cs']:#04x}/{state['cs_mode']} DS={state['ds']:#04x} SS={state['ss']:#04x} "
            f"GDTR={state['gdtr_base']:#x}/{state['gdtr_limit']:#x}")


def report(qemu, bochs, diffs, notes):
    for name in project.NAMES:
        bad = [d for d in diffs if d.startswith(name + ":")]
        state = bochs["stops"].get(name) or qemu["stops"].get(name)
        print(f"{'DIFF' if bad else 'ok  '} {name:<20} {summary(state) if state else ''}")
        for d in bad:
            print("       " + d.split(": ", 1)[1])
    screen_bad = [d for d in diffs if d.startswith(("screen:", "debug_exit:"))]
    print(f"{'DIFF' if screen_bad else 'ok  '} {'screen':<20} "
          f"{sum(1 for l in bochs['screen'] if l)} non-empty lines of VGA text")
    for d in screen_bad:
        print("       " + d.split(": ", 1)[1])
    # One line per kind of expected difference, not one per milestone.
    kinds = {}
    for n in notes:
        name, rest = n.split(": ", 1)
        kind = rest.split(" differs")[0] + rest[rest.rfind(" ("):] if " (" in rest else rest
        kinds.setdefault(kind, []).append((name, rest))
    for kind, items in kinds.items():
        name, rest = items[0]
        more = f" and {len(items) - 1} more milestone(s)" if len(items) > 1 else ""
        print(f"note: {name}{more}: {rest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=driver.IMAGE)
    ap.add_argument("--strict", action="store_true", help="also fail on the BIOS-made differences")
    ap.add_argument("--save", metavar="JSON", help="write both runs' results to JSON")
    ap.add_argument("--load", metavar="JSON", help="compare results saved by --save (no emulator)")
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        if args.load:
            with open(args.load) as f:
                runs = json.load(f)
        else:
            driver.need_build([args.image] + driver.symbol_paths())
            runs = {"qemu": run_qemu(args.image), "bochs": run_bochs(args.image)}
        if args.save:
            with open(args.save, "w") as f:
                json.dump(runs, f, indent=1)
    except (driver.BochsError, parse.ParseError) as e:
        print(f"crosscheck: FAILED: {e}")
        return 1
    diffs, notes = compare(runs["qemu"], runs["bochs"], args.strict)
    report(runs["qemu"], runs["bochs"], diffs, notes)
    n = len(project.NAMES)
    if diffs:
        print(f"crosscheck: FAILED: {len(diffs)} difference(s) between QEMU and Bochs")
        return 1
    print(f"crosscheck: QEMU and Bochs agree at all {n} milestones and on the screen "
          f"({time.monotonic() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    proc.entry_point(main, "crosscheck")
