"""`make trace`: the annotated listing from 0x7c00 to the first VGA write,
checked against a second, independent GDB session on the live machine:
breakpoints on the transition symbols (`bl mode` there), on the `int`
instructions objdump finds in the boot code, on the rep instructions, and
`stepi` counts over two stretches, the last one up to the step that changes
the first VGA cell."""
import json
import re
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT, gdb_batch, make

from bootlab import project as milestones
from bootlab.trace.listing import stable

TRACE = BUILD / "trace.txt"
INSN = re.compile(r"^ *(\d+) (\S+) +([0-9a-f]{4}:[0-9a-f]+) +([0-9a-f]{8})  (\S*) +(.*)$")
HEADING = re.compile(r"^---- \[\d+/\d+\] (\w+)  \((.+), paging (\S+)\):")
BANNER = re.compile(r"^== (.+ -> .+) ==$")

# Runs in GDB with the extension loaded. Stops at every transition symbol
# (recording `bl mode`), int and rep instruction; counts stepi from e820_done
# to long_mode_supported, and from kmain to the step that changes VGA cell 0.
PROBE = r'''
import json, gdb
from bootlab.gdbext import scripting as bounded, snapshot
P = json.loads(PROBE_INPUT)
names = {v: k for k, v in P["symbols"].items()}
out = {"modes": [], "ints": [], "reps": {}}
stops = {a: gdb.Breakpoint("*0x%x" % a, internal=True)
         for a in list(names) + P["ints"] + P["reps"]}
def lin():
    return snapshot.current().state.pc_linear
def stepi_to(done, limit=1000):
    steps, where = 0, (int(gdb.parse_and_eval("$cs")), lin())
    while not done() and steps < limit:
        gdb.execute("stepi", to_string=True)
        now = (int(gdb.parse_and_eval("$cs")), lin())
        steps += now != where          # a step that did not move counts nothing
        where = now
    return steps
def record(a):
    if a in names:
        text = gdb.execute("bl mode", to_string=True)
        m = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
        out["modes"].append([names[a], m["mode"].strip(), m["paging"].strip()])
    if a in P["ints"]:
        out["ints"].append([a, int(gdb.parse_and_eval("$eax")) & 0xffffffff])
    if a in P["reps"]:
        out["reps"][str(a)] = int(gdb.parse_and_eval("$rcx"))
        stops.pop(a).delete()     # or each continue would run one iteration
while True:
    _, timed_out = bounded.continue_for(20, to_string=True)
    assert not timed_out
    a = lin()
    record(a)
    if names.get(a) == "e820_done":
        target = P["symbols"]["long_mode_supported"]
        out["e820_steps"] = stepi_to(lambda: lin() == target)
        record(lin())
    if names.get(a) == "kmain":
        vga = lambda: bytes(gdb.selected_inferior().read_memory(0xb8000, 2))
        first, last_pc = vga(), [None]
        def changed():
            if vga() != first:
                return True
            last_pc[0] = lin()
            return False
        out["vga_steps"] = stepi_to(changed)
        out["vga_pc"], out["vga_before"], out["vga_after"] = last_pc[0], first.hex(), vga().hex()
        break
print("PROBE " + json.dumps(out))
gdb.execute("kill")
'''


def parse(text):
    lines = text.splitlines()
    insns = [m.groups() for m in map(INSN.match, lines) if m]
    return dict(lines=lines, insns=[(int(n), tag, csip, int(lin, 16), sym, rest)
                                    for n, tag, csip, lin, sym, rest in insns],
                headings=[m.groups() for m in map(HEADING.match, lines) if m],
                banners=[m.group(1) for m in map(BANNER.match, lines) if m])


@pytest.fixture(scope="module")
def trace(image):
    proc = make("trace", timeout=240)
    return dict(parse(TRACE.read_text()), terminal=proc.stdout)


def int_instructions():
    """(address, vector) of every `int imm8` objdump found in the 16-bit code."""
    found = re.findall(r"^ +([0-9a-f]+):\s+cd ([0-9a-f]{2})\s+int\s",
                       (BUILD / "boot16.lst").read_text(), re.M)
    return [(int(a, 16), int(v, 16)) for a, v in found]


@pytest.fixture(scope="module")
def live(trace, tmp_path_factory):
    # nm's symbol tables (the .sym files), not GDB's lookup that the tracer uses.
    table = milestones.read_symbols([BUILD / f"{e}.sym" for e in ("boot16", "boot32", "kernel")])
    symbols = {name: table[name] for name in milestones.NAMES}
    reps = [lin for _, _, _, lin, _, rest in trace["insns"] if rest.startswith("rep ")]
    probe = tmp_path_factory.mktemp("trace") / "probe.py"
    probe.write_text("PROBE_INPUT = %r\n" % json.dumps(dict(
        symbols=symbols, ints=[a for a, _ in int_instructions()], reps=reps)) + PROBE)
    proc = gdb_batch([f"source {ROOT}/debug/gdb/bootlab.py", "set bootlab context off",
                      "set bootlab mode-messages off", f"source {probe}"], timeout=90)
    found = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert found, proc.stdout[-3000:]
    return dict(json.loads(found[0][6:]), symbols=symbols)


def test_every_transition_in_order_with_the_live_mode(trace, live):
    assert [h[0] for h in trace["headings"]] == milestones.NAMES
    assert [list(h) for h in trace["headings"]] == live["modes"]
    # Each heading stands right above the instruction at that symbol's address.
    for name, _, _ in trace["headings"]:
        i = next(i for i, line in enumerate(trace["lines"])
                 if HEADING.match(line) and HEADING.match(line).group(1) == name)
        _, _, _, lin, sym, _ = INSN.match(trace["lines"][i + 1]).groups()
        assert int(lin, 16) == live["symbols"][name] and sym == name


def test_mode_banners_follow_the_live_modes(trace, live):
    seen = []
    for _, m, _ in live["modes"]:
        if not seen or seen[-1] != m:
            seen.append(m)
    chain = [seen[0]]
    for banner in trace["banners"]:
        cpu = [part for part in banner.split(", ") if not part.startswith("paging")]
        if cpu:
            old, new = cpu[0].split(" -> ")
            assert old == chain[-1], banner
            chain.append(new)
    assert chain == seen
    assert "paging off -> 4-level" in " ".join(trace["banners"])


def test_instruction_counts_match_stepi(trace, live):
    at = {lin: n for n, _, _, lin, _, _ in trace["insns"]}
    s = live["symbols"]
    assert at[s["long_mode_supported"]] - at[s["e820_done"]] == live["e820_steps"]
    # The trace ends with the instruction that changed the first VGA cell.
    last_n, _, _, last_lin, _, _ = trace["insns"][-1]
    assert last_lin == live["vga_pc"]
    assert last_n - at[s["kmain"]] + 1 == live["vga_steps"]
    assert live["vga_before"] != live["vga_after"]
    assert re.search(r"^== first write to VGA text memory: instruction %d at 0x%x .* wrote "
                     r"0xb8000 \(row 0, column 0\) ==$" % (last_n, last_lin),
                     "\n".join(trace["lines"]), re.M)


def test_rep_iterations_are_the_live_counts(trace, live):
    checked, last = 0, None
    for line in trace["lines"]:
        m = INSN.match(line)
        if m:
            last = int(m.group(4), 16)
        elif line.endswith("iterations, run at full speed"):
            assert int(line.split()[1]) == live["reps"][str(last)], line
            checked += 1
    assert checked == len(live["reps"]) > 0


def test_bios_calls_are_the_int_instructions_executed(trace, live):
    vectors = dict(int_instructions())
    listed = []
    lines = trace["lines"]
    for i, line in enumerate(lines):
        if line.startswith("   >> BIOS "):
            n, tag, csip, lin, sym, rest = INSN.match(lines[i - 1]).groups()
            m = re.match(r"   >> BIOS INT ([0-9A-F]{2})h (AH|AX|EAX)=([0-9A-F]+)h", line)
            listed.append((int(lin, 16), int(m.group(1), 16), m.group(2), int(m.group(3), 16)))
    assert listed and len(listed) == len(live["ints"])
    part = {"AH": lambda eax: eax >> 8 & 0xff, "AX": lambda eax: eax & 0xffff,
            "EAX": lambda eax: eax}
    for (lin, vector, reg, value), (addr, eax) in zip(listed, live["ints"]):
        assert (lin, vector, value) == (addr, vectors[addr], part[reg](eax))
    assert f"BIOS calls: {len(listed)}:" in trace["terminal"]


def test_summary_adds_up(trace):
    row = re.compile(r"^(\w+) +(.*?) +(\d+) +\d+ +\d+ +\S+ +[\d.]+ ms$")
    rows = [m.groups() for m in map(row.match, trace["lines"]) if m]
    assert [r[0] for r in rows] == milestones.NAMES + ["total"]
    counts = [int(r[2]) for r in rows]
    assert sum(counts[:-1]) == counts[-1] == trace["insns"][-1][0]


def test_readme_excerpt_is_a_real_trace(trace):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The boot trace: make trace", 1)[1].split("\n## ", 1)[0]
    # An AP's trace (`$ make trace SMP=...`) is checked by test_smp_tools.py.
    excerpt = [line for block in section.split("```")[1::2] for line in block.splitlines()
               if not block.lstrip("\n").startswith("$ make trace SMP=")]
    assert len(excerpt) > 20
    fresh = {stable(line) for line in trace["lines"] + trace["terminal"].splitlines()}
    missing = [line for line in excerpt if line.strip() != "..." and stable(line) not in fresh]
    assert not missing, "README lines not in a fresh trace:\n" + "\n".join(missing)


def test_bios_switch_and_bound(image, tmp_path):
    """BIOS=1 lists the BIOS's own instructions; MAX ends the run with one line."""
    out = tmp_path / "trace.txt"
    proc = subprocess.run([sys.executable, "-m", "bootlab.trace.main", "--bios", "--max", "150",
                           "--out", str(out)], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "trace: stopped after 150 instructions (MAX=150) before any write to VGA memory; "
        f"the listing so far is in {out}"]
    assert "Traceback" not in proc.stdout
    lines = out.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if " int    0x13 " in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("   >> BIOS INT 13h AH=41h"))
    inside = [line for line in lines[start + 1:end] if INSN.match(line)]
    assert inside and all(INSN.match(line).group(5) == "" for line in inside)  # no symbols: BIOS
    assert f"; {len(inside)} BIOS instructions" in lines[end] and "stepped above" in lines[end]


def test_bad_option_is_one_line():
    proc = make("trace", "MAX=lots", check=False, timeout=60)
    assert proc.returncode != 0
    assert [line for line in proc.stderr.splitlines() if line.startswith("trace")] == \
        ["trace: argument --max: 'lots' is not a positive whole number"]
    assert "Traceback" not in proc.stderr
