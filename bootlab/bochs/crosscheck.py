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
  own map. They are left out of the screen comparison on both sides; so are
  the addresses of the ACPI tables on the SMP kernel's "smp: N CPUs in the
  MADT at ..." line (each BIOS puts its tables elsewhere; the count stays).

With SMP=N (N > 1) both PCs get N CPUs, and after kmain each AP's walk is
compared too: at each of AP k's milestones (ap_start ... ap_main, then
ap_park) the same fields of every CPU started by then: AP k, the BSP and
the APs before it (parked). Not compared: the CPUs not started yet (each
sits where its BIOS left it), and where the other CPUs are when AP k
stops (their RIP and general registers): that depends on how each
emulator takes turns between CPUs, not on bootlab.

Sources of the values:
- QEMU: `monitor info registers -a` (hidden caches, GDT=, CR0-4, EFER, of
  every CPU), collected by bootlab.gdbext.crossprobe inside `gdb -batch`,
  attached to a paused QEMU (bootlab.session), and parsed by the core
  (bootlab.qemu.monitor).
- Bochs: `creg` and `sreg` at the same stops (tour.py), for each CPU after
  `set $cpu = N` (the debugger's CPU; a stop does not change it).
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
from .tour import AP_WALK, Tour

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
# ...and the parts of lines that are the BIOS's (kernel/smp/smp.c: where the
# BIOS put its ACPI tables), masked on both sides.
BIOS_SCREEN_PARTS = [
    (re.compile(r"^(smp: \d+ CPUs? in the MADT at )0x[0-9a-f]+ \((RSDT|XSDT) 0x[0-9a-f]+, "
                r"RSDP 0x[0-9a-f]+ (revision \d+\))$"), r"\1<BIOS's> (\2 <BIOS's>, RSDP <BIOS's> \3"),
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
        if not strict:
            for pattern, mask in BIOS_SCREEN_PARTS:
                line = pattern.sub(mask, line)
        keep.append((row, line))
    while keep and not keep[-1][1]:
        keep.pop()
    return keep


def ap_key(name, ap, cpu):
    """How an AP milestone's line names one CPU's state there."""
    return f"{name} (AP {ap}) CPU {cpu}"


def compare_state(where, q, b, strict, bios_gdt, diffs, notes):
    for key, label, fmt in FIELDS:
        qv, bv = q[key], b[key]
        if qv == bv:
            continue
        line = f"{where}: {label} differs: QEMU {fmt.format(qv)}, Bochs {fmt.format(bv)}"
        if not strict and key == "cr0" and (qv ^ bv) & ~CR0_BIOS_BITS == 0:
            notes.append(line + " (only CD/NW, the BIOS's cache setting)")
        elif not strict and key.startswith("gdtr") and bios_gdt:
            notes.append(line + " (the BIOS's GDT, before gdt_loaded)")
        else:
            diffs.append(line)


def compare(qemu, bochs, strict=False):
    """Compare two run results ({"stops": {name: state}, "screen": [lines],
    "status": int}, with SMP "aps": {ap: {name: {cpu: state}}}, numbers as
    strings). Returns (differences, notes), lists of strings that name the
    milestone (and the CPU) and the field."""
    diffs, notes = [], []
    gdt_from = project.NAMES.index("gdt_loaded")
    for i, name in enumerate(project.NAMES):
        q, b = qemu["stops"].get(name), bochs["stops"].get(name)
        if q is None or b is None:
            who = "QEMU" if q is None else "Bochs"
            diffs.append(f"{name}: not reached in {who}")
            continue
        compare_state(name, q, b, strict, i < gdt_from, diffs, notes)
    qa, ba = qemu.get("aps", {}), bochs.get("aps", {})
    for ap in sorted(set(qa) | set(ba), key=int):
        for name in AP_WALK:
            q, b = qa.get(ap, {}).get(name), ba.get(ap, {}).get(name)
            if q is None or b is None:
                who = "QEMU" if q is None else "Bochs"
                diffs.append(f"{ap_key(name, ap, ap)}: not reached in {who}")
                continue
            for cpu in sorted(set(q) | set(b), key=lambda c: (c != ap, int(c))):
                where = ap_key(name, ap, cpu)
                if cpu not in q or cpu not in b:
                    diffs.append(f"{where}: not read in {'QEMU' if cpu not in q else 'Bochs'}")
                    continue
                compare_state(where, q[cpu], b[cpu], strict, False, diffs, notes)
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
        masked = sum(1 for l in qemu["screen"] + bochs["screen"]
                     if any(p.match(l) for p, _ in BIOS_SCREEN_PARTS))
        if masked:
            notes.append(f"screen: the ACPI tables' addresses on the smp: line masked on both "
                         f"sides (each BIOS puts them elsewhere)")
    return diffs, notes


# ---- Runners -------------------------------------------------------------------------------

def run_qemu(image, build=driver.BUILD, cpus=1):
    with tempfile.TemporaryDirectory(prefix="bootlab-crosscheck-") as tmp:
        out = os.path.join(tmp, "probe.json")
        machine = cmdline.Machine(disk=image, smp=cpus if cpus > 1 else None)
        with session.Qemu(lambda fd: cmdline.qemu(machine, debugcon=Path(tmp, "debugcon.log"),
                                                   gdb_fd=fd), Path(tmp, "qemu.log")) as qemu:
            argv = cmdline.gdb(setup=False, batch=True, commands=[
                qemu.target, "python import bootlab.gdbext.crossprobe as p; p.main()"])
            env = dict(os.environ, BOOTLAB_PROBE_OUT=out, BOOTLAB_BUILD=str(build),
                       PYTHONPATH=str(project.ROOT))
            result = session.batch_gdb(qemu, argv, GDB_LIMIT, cwd=project.ROOT, env=env)
        if result.timed_out:
            last = (result.output.strip().splitlines() or ["(nothing)"])[-1]
            raise driver.BochsError(f"QEMU under GDB did not finish within {GDB_LIMIT} s "
                                    f"(GDB's last line: {last})")
        if not os.path.exists(out):
            raise driver.BochsError("the GDB probe wrote nothing; GDB said:\n" + result.output[-2000:])
        with open(out) as f:
            record = json.load(f)
    result = {"stops": {}, "screen": [], "status": None}
    if cpus > 1:
        result["aps"] = {}
    for stop in record["stops"]:
        want, want_cpu = stop["expected"]
        if (stop["name"], stop["cpu"]) != (want, want_cpu):
            where = stop["name"] or f"{stop['pc']:#x}, not a milestone"
            raise driver.BochsError(f"QEMU: expected {want} next (CPU {want_cpu}), CPU "
                                    f"{stop['cpu']} stopped at {where}")
        try:
            each = {r.cpu or 0: r.text for r in monitor.parse_all(stop["registers"])}
        except monitor.MonitorError as e:
            raise parse.ParseError(f"{e}:\n{stop['registers']}")
        if stop["name"] == project.END:
            result["status"] = stop["rdi"] & 0xff
            result["screen"] = parse.vga_lines(bytes.fromhex(stop["vga"]))
        elif stop["name"] in AP_WALK:
            ap = stop["cpu"]          # every CPU started by now: the BSP, APs 1 .. ap
            result["aps"].setdefault(str(ap), {})[stop["name"]] = {
                str(cpu): parse_qemu_registers(each[cpu]) for cpu in range(ap + 1)}
        else:
            result["stops"][stop["name"]] = parse_qemu_registers(each[0])
    if record["error"]:
        raise driver.BochsError(f"QEMU run stopped after {len(record['stops'])} milestones: {record['error']}")
    if not record["stops"] or record["stops"][-1]["name"] != project.END:
        raise driver.BochsError(f"QEMU run ended after {len(record['stops'])} milestones, "
                                f"before {project.END}")
    return result


def run_bochs(image, cpus=1):
    result = {"stops": {}, "screen": [], "status": None}
    if cpus > 1:
        result["aps"] = {}
    run_dir = driver.RunDir(image, cpus=cpus)
    try:
        with driver.BochsSession(run_dir, "term") as session:
            tour = Tour(session, cpus=cpus)

            def state():
                return parse.state(session.command("creg"), session.command("sreg"))

            def visit(name, stop):
                if name in AP_WALK:
                    ap, seen = stop["cpu"], {}
                    for cpu in [ap] + list(range(ap)):
                        session.command(f"set $cpu = {cpu}")
                        seen[str(cpu)] = state()
                    session.command("set $cpu = 0")     # `r` at debug_exit reads the BSP
                    result["aps"].setdefault(str(ap), {})[name] = seen
                elif name != project.END:
                    result["stops"][name] = state()
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
    for ap in sorted(set(qemu.get("aps", {})) | set(bochs.get("aps", {})), key=int):
        for name in AP_WALK:
            seen = bochs.get("aps", {}).get(ap, {}).get(name) or \
                qemu.get("aps", {}).get(ap, {}).get(name) or {ap: None}
            for cpu in sorted(seen, key=lambda c: (c != ap, int(c))):
                key = ap_key(name, ap, cpu)
                bad = [d for d in diffs if d.startswith(key + ":")]
                where = f"{name} (AP {ap})"
                state = summary(seen[cpu]) if seen[cpu] else ""
                print(f"{'DIFF' if bad else 'ok  '} {where:<20} CPU {cpu}: {state}")
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
        name = name.replace(" CPU ", ", CPU ")
        kind = rest.split(" differs")[0] + rest[rest.rfind(" ("):] if " (" in rest else rest
        kinds.setdefault(kind, []).append((name, rest))
    for kind, items in kinds.items():
        name, rest = items[0]
        more = f" and {len(items) - 1} more stop(s)" if len(items) > 1 else ""
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
            cpus = cmdline.smp_from_env() or 1      # make's SMP=N: both PCs get N CPUs
            driver.need_build([args.image] + driver.symbol_paths())
            if cpus > 1 and project.AP_NAMES[0] not in project.read_symbols(driver.symbol_paths()):
                raise driver.BochsError(f"SMP={cpus}, but {os.path.relpath(driver.BUILD)}/"
                                        f"kernel.sym has no {project.AP_NAMES[0]}: build it "
                                        f"with SMP={cpus} (make crosscheck SMP={cpus} does)")
            runs = {"qemu": run_qemu(args.image, cpus=cpus),
                    "bochs": run_bochs(args.image, cpus=cpus)}
        if args.save:
            with open(args.save, "w") as f:
                json.dump(runs, f, indent=1)
    except (driver.BochsError, parse.ParseError, cmdline.BadOption) as e:
        print(f"crosscheck: FAILED: {e}")
        return 1
    diffs, notes = compare(runs["qemu"], runs["bochs"], args.strict)
    report(runs["qemu"], runs["bochs"], diffs, notes)
    n = len(project.NAMES)
    if diffs:
        print(f"crosscheck: FAILED: {len(diffs)} difference(s) between QEMU and Bochs")
        return 1
    aps = sorted(runs["bochs"].get("aps", {}), key=int)
    walks = ""
    if aps:
        who = f"AP {aps[0]}'s" if len(aps) == 1 else f"each of APs {aps[0]}-{aps[-1]}'s"
        walks = (f", at {who} {len(AP_WALK)} (on every CPU started by then)")
    print(f"crosscheck: QEMU and Bochs agree at all {n} milestones{walks} and on the screen "
          f"({time.monotonic() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    proc.entry_point(main, "crosscheck")
