"""The tools follow the APs (make SMP=2): `make tour SMP=2` goes on with CPU
1's journey, every stop CPU 1's, CPU 0 in 64-bit mode meanwhile; `make
trace SMP=2 TRACE_CPU=1` lists CPU 1's instructions from ap_start, checked
against an independent GDB session that steps CPU 1 alone; bad TRACE_CPU=
values are one line before anything is built; `make crosscheck SMP=2`
compares each CPU at AP 1's milestones and fails on a difference there;
record/replay refuses SMP in one line; and the README's SMP blocks for
these tools are what they print today."""
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT, gdb_batch, make

from bootlab import project
from bootlab.lab import transcript
from bootlab.trace.listing import stable

TRAMPOLINE, SEGMENT = project.const("TRAMPOLINE_ADDR", "TRAMPOLINE_SEG")
AP_WALK = project.AP_NAMES + [project.AP_PARK]
PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def smp_build(variant):
    return variant(SMP="2")


def readme_block(section, command):
    """The README block of `section` whose first line is `$ command`, less that line."""
    text = (ROOT / "README.md").read_text().split(section, 1)[1].split("\n## ", 1)[0]
    for block in text.split("```")[1::2]:
        lines = block.strip("\n").splitlines()
        if lines and lines[0] == "$ " + command:
            return "\n".join(lines[1:])
    raise AssertionError("README %r has no block for `%s`" % (section, command))


def headings(text):
    return re.findall(r"^=== \d+\. .* \((.+)\) ===$", text, re.M)


def section(text, where):
    return text.split("(%s) ===" % where, 1)[1].split("\n=== ", 1)[0]


# ---- make tour SMP=2 ------------------------------------------------------------------

@pytest.fixture(scope="module")
def smp_tour(smp_build):
    proc = make(f"B={smp_build}", "tour", "SMP=2", timeout=150)
    assert "bootlab: transcript in" in proc.stdout
    return (smp_build / "tour.txt").read_text()


def test_tour_follows_cpu1_after_the_bsp(smp_tour):
    heads = headings(smp_tour)
    bsp = heads.index("kmain")
    assert heads[bsp + 1] == "watch *(short *)0xb8000"
    assert heads[bsp + 2:] == ["%s, CPU 1" % n for n in AP_WALK] + [project.END]
    assert "bootlab tour, part 2: CPU 1 walks the same path, started by CPU 0." in smp_tour
    assert smp_tour.rstrip().endswith("bootlab tour: the guest is ended.")
    assert "Traceback" not in smp_tour
    # Every AP stop is CPU 1's (the context line), each with its story.
    for m in project.AP_MILESTONES:
        text = section(smp_tour, m.name + ", CPU 1")
        assert "-- bootlab: CPU 1, " in text, m.name
        assert m.story.splitlines()[0] in text, m.name


def test_tour_announces_cpu1s_mode_changes(smp_tour):
    part2 = smp_tour.split("bootlab tour, part 2")[1]
    assert re.findall(r"^bootlab: CPU 1 (?:mode|paging) (.+)$", part2, re.M) == [
        "real, paging off", "real -> protected (16-bit)",
        "protected (16-bit) -> protected (32-bit)",
        "protected (32-bit) -> compatibility (32-bit)", "off -> 4-level",
        "compatibility (32-bit) -> 64-bit"]
    # CPU 0 changes no mode in part 2: it waits in 64-bit C throughout.
    assert not re.search(r"^bootlab: CPU 0 (mode|paging)", part2, re.M)


def test_at_ap_start_both_cpus_are_shown(smp_tour):
    text = section(smp_tour, "ap_start, CPU 1")
    # GDB cannot name the breakpoint (CS.base + IP = 0xa000, $pc = 0): bootlab does.
    assert "Thread 2 received signal SIGTRAP" in text
    assert re.search(r"^bootlab: Breakpoint \d+ at 0a00:0000 \(linear 0xa000\)$", text, re.M)
    cpus = text.split("(gdb) bl cpus\n")[1].splitlines()[:2]
    assert re.match(r"^  CPU 0  64-bit +paging 4-level .* started$", cpus[0]), cpus
    assert re.match(r"^\* CPU 1  real +paging off +0a00:0000 \(linear 0xa000\) +started$",
                    cpus[1]), cpus
    assert re.search(r"^  1 +Thread 1.1 \(CPU#0 .*\) .* at kernel/smp/\w+\.c:\d+$", text, re.M)
    # bl seg describes CPU 1: CS = vector << 8, base = vector << 12; its own GDTR.
    assert re.search(r"^CS   %04x  %016x  0000ffff  code " % (SEGMENT, TRAMPOLINE), text, re.M)
    assert re.search(r"^GDTR       0000000000000000  0000ffff ", text, re.M)


def test_the_ap_shares_tables_but_not_the_stack(smp_tour):
    assert "GDTR base 0x7fd0 limit 0x27" in section(smp_tour, "ap_gdt_loaded, CPU 1")
    pe = section(smp_tour, "ap_pe_set, CPU 1")
    assert re.search(r"^CR0 0x60000010 -> 0x60000011  \(\+PE\)$", pe, re.M)
    assert re.search(r"^CR0  0x60000011  \[ CD NW ET PE \]$", pe, re.M)
    pm = section(smp_tour, "ap_pm_entry, CPU 1")
    assert re.search(r"^\* CPU 1  protected \(32-bit\) +paging off", pm, re.M)
    assert re.search(r"^  CPU 0  64-bit", pm, re.M)
    pg = section(smp_tour, "ap_pg_set, CPU 1")
    assert re.search(r"^CR3  0x00001000  top table 0x1000", pg, re.M)
    main = section(smp_tour, "ap_main, CPU 1")
    assert "cpu = 1" in main
    assert re.search(r"^ap_stacks \+ \d+ in section \.bss", main, re.M)


def test_the_end_shows_every_cpu(smp_tour):
    end = section(smp_tour, project.END)
    assert re.search(r"^\* CPU 0  64-bit .* started$", end, re.M)
    assert re.search(r"^  CPU 1  64-bit .* HLT started$", end, re.M)
    assert "|cpu 1: online in 64-bit mode, APIC id 1" in end


def test_smp1_tour_says_there_is_no_ap(variant):
    build = variant(SMP="1")
    make(f"B={build}", "tour", "SMP=1", timeout=150)
    text = (build / "tour.txt").read_text()
    assert "this PC has one (SMP=1): no AP to follow." in text
    assert "part 2" not in text and headings(text)[-1] == project.END


def test_readme_tour_block(smp_tour):
    expected = readme_block("### make tour SMP=2", "make tour SMP=2")
    assert transcript.matches(expected, smp_tour), transcript.diff(expected, smp_tour)


# ---- make trace SMP=2 TRACE_CPU=1 ----------------------------------------------------

INSN = re.compile(r"^ *(\d+) (\S+) +([0-9a-f]{4}:[0-9a-f]+) +([0-9a-f]{8})  (\S*) +(.*)$")
HEADING = re.compile(r"^---- \[\d+/\d+\] (\w+)  \((.+), paging (\S+)\):")


@pytest.fixture(scope="module")
def ap_trace(smp_build):
    proc = make(f"B={smp_build}", "trace", "SMP=2", "TRACE_CPU=1", timeout=240)
    lines = (smp_build / "trace.txt").read_text().splitlines()
    return dict(lines=lines, terminal=proc.stdout,
                insns=[m.groups() for m in map(INSN.match, lines) if m],
                headings=[m.group(1) for m in map(HEADING.match, lines) if m])


def test_ap_trace_starts_at_the_sipi_and_ends_at_its_first_vga_write(ap_trace):
    assert ap_trace["lines"][0].startswith(
        "bootlab trace (make trace SMP=2 TRACE_CPU=1): every instruction CPU 1 executes "
        "from ap_start")
    first = ap_trace["insns"][0]
    assert first[:5] == ("1", "real", "%04x:0000" % SEGMENT, "%08x" % TRAMPOLINE, "ap_start")
    assert ap_trace["headings"] == project.AP_NAMES
    banners = [l[3:-3] for l in ap_trace["lines"] if re.match(r"^== .* -> .* ==$", l)]
    assert banners == ["real -> protected (16-bit)", "protected (16-bit) -> protected (32-bit)",
                       "protected (32-bit) -> compatibility (32-bit), paging off -> 4-level",
                       "compatibility (32-bit) -> 64-bit"]
    assert "   ! CS 0x0a00 -> 0x0000 (far transfer: new code segment)" in ap_trace["lines"]
    # CPU 1's line is the screen's 16th (row 15): its first character ends the trace.
    assert re.search(r"^== first write to VGA text memory: instruction %s at .* wrote 0xb8960 "
                     r"\(row 15, column 0\) ==$" % ap_trace["insns"][-1][0],
                     "\n".join(ap_trace["lines"]), re.M)
    assert "Traceback" not in ap_trace["terminal"]


# Plain GDB (no extension), -smp 2: stop CPU 1 at ap_start, then stepi that CPU
# alone (scheduler-locking on) until VGA memory changes; record the step count
# at each AP milestone and where CPU 0 is before and after.
AP_PROBE = r'''
import json, gdb
P = json.loads(PROBE_INPUT)
gdb.execute("hbreak *0x%x" % P["ap_start"])
gdb.execute("continue")
out = {"thread": gdb.selected_thread().num, "at": {}}
gdb.execute("delete")
gdb.execute("set scheduler-locking on")
def where():
    cs, pc = int(gdb.parse_and_eval("$cs")), int(gdb.parse_and_eval("$pc"))
    real = int(gdb.parse_and_eval("$cr0")) & 1 == 0
    return ((cs << 4) + pc) if real else pc
def vga():
    gdb.execute("maint flush dcache")
    return bytes(gdb.selected_inferior().read_memory(0xb8000, 4000))
gdb.execute("thread 1")
out["cpu0_before"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("thread 2")
screen, steps, here = vga(), 1, where()
names = {v: k for k, v in P["symbols"].items()}
while steps < 2000:
    if here in names and names[here] not in out["at"]:
        out["at"][names[here]] = steps
    gdb.execute("stepi", to_string=True)
    if vga() != screen:
        break
    now = where()
    steps += now != here          # a step that did not move counts nothing
    here = now
out["steps"] = steps
gdb.execute("thread 1")
out["cpu0_after"] = int(gdb.parse_and_eval("$pc"))
print("PROBE " + json.dumps(out))
gdb.execute("kill")
'''


def test_ap_trace_matches_stepping_cpu1_alone(ap_trace, smp_build, tmp_path):
    table = project.read_symbols(project.symbol_paths(smp_build))
    symbols = {n: table[n] for n in project.AP_NAMES}
    probe = tmp_path / "probe.py"
    probe.write_text("PROBE_INPUT = %r\n" % json.dumps(dict(
        ap_start=table["ap_start"], symbols=symbols)) + AP_PROBE)
    result = gdb_batch(["source %s" % probe], image=smp_build / "bootlab.img", symbols=False,
                       timeout=90, qemu_extra=("-smp", "2"))
    found = [l for l in result.stdout.splitlines() if l.startswith("PROBE ")]
    assert found, result.stdout[-3000:]
    live = json.loads(found[0][6:])
    assert live["thread"] == 2 and live["cpu0_before"] == live["cpu0_after"]
    # The trace's instruction numbers at each milestone and at the end are the
    # live step counts.
    first = {}
    for n, _, _, lin, _, _ in ap_trace["insns"]:
        first.setdefault(int(lin, 16), int(n))
    assert {name: first[symbols[name]] for name in project.AP_NAMES
            if name != "ap_main"} == {k: v for k, v in live["at"].items() if k != "ap_main"}
    assert first[symbols["ap_main"]] == live["at"]["ap_main"]
    assert int(ap_trace["insns"][-1][0]) == live["steps"]


@pytest.mark.parametrize("options, said", [
    (["TRACE_CPU=one", "SMP=2"], "trace: TRACE_CPU=one: give a CPU number: 0 for the BSP "
                                 "(the default), 1 or more for an AP (with SMP=)"),
    (["TRACE_CPU=2", "SMP=2"], "trace: TRACE_CPU=2: with SMP=2 the PC has CPUs 0 and 1"),
    (["TRACE_CPU=1"], "trace: TRACE_CPU=1 traces an application processor: give SMP=2 (or "
                      "more) too; without SMP= the PC has one CPU, CPU 0"),
])
def test_bad_trace_cpu_is_one_line_before_the_build(options, said, tmp_path):
    proc = make(f"B={tmp_path}", "trace", *options, check=False, timeout=60)
    assert proc.returncode != 0
    assert [l for l in proc.stderr.splitlines() if l.startswith("trace")] == [said]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "bootlab.img").exists()      # refused before building


def test_readme_ap_trace_block(ap_trace):
    expected = readme_block("## The boot trace: make trace", "make trace SMP=2 TRACE_CPU=1")
    fresh = {stable(l) for l in ap_trace["lines"] + ap_trace["terminal"].splitlines()}
    missing = [l for l in expected.splitlines() if l.strip() != "..." and stable(l) not in fresh]
    assert not missing, "README lines not in a fresh AP trace:\n" + "\n".join(missing)


# ---- make crosscheck SMP=2 ---------------------------------------------------------

@pytest.fixture(scope="module")
def smp_crosscheck(smp_build, tmp_path_factory):
    proc = make(f"B={smp_build}", "crosscheck", "SMP=2", check=False, timeout=200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = tmp_path_factory.mktemp("crosscheck-smp") / "runs.json"
    env = dict(__import__("os").environ, BOOTLAB_BUILD=str(smp_build), BOOTLAB_SMP="2")
    p = subprocess.run([PY, "-m", "bootlab.bochs.crosscheck", "--image",
                        str(smp_build / "bootlab.img"), "--save", str(saved)], cwd=ROOT,
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=200)
    assert p.returncode == 0, p.stdout + p.stderr
    return dict(stdout=proc.stdout, runs=json.loads(saved.read_text()), saved=saved)


def test_crosscheck_compares_every_started_cpu_at_each_ap_stop(smp_crosscheck):
    out = smp_crosscheck["stdout"]
    assert "crosscheck: QEMU and Bochs agree at all 16 milestones, at AP 1's 8 " \
           "(on every CPU started by then) and on the screen" in out
    for name in AP_WALK:
        for cpu in (1, 0):
            line = "ok   %-20s CPU %d: CR0=" % ("%s (AP 1)" % name, cpu)
            assert re.search("^" + re.escape(line), out, re.M), line
    for side in ("qemu", "bochs"):
        aps = smp_crosscheck["runs"][side]["aps"]
        assert list(aps) == ["1"] and list(aps["1"]) == AP_WALK
        start = aps["1"]["ap_start"]
        assert set(start) == {"0", "1"}
        assert (start["1"]["cs"], start["1"]["cs_mode"]) == (SEGMENT, 16), side
        assert start["0"]["cs_mode"] == 64, side
        assert aps["1"]["ap_pm_entry"]["1"]["cs_mode"] == 32, side
        assert aps["1"]["ap_main"]["1"]["cr3"] == aps["1"]["ap_main"]["0"]["cr3"] == \
            project.const("PML4_ADDR"), side


def test_crosscheck_fails_on_a_difference_at_an_ap_stop(smp_crosscheck, tmp_path):
    runs = smp_crosscheck["runs"]
    runs["bochs"]["aps"]["1"]["ap_pm_entry"]["1"]["cs_mode"] = 16
    runs["bochs"]["aps"]["1"]["ap_pg_set"]["0"]["cr3"] = 0x2000
    del runs["bochs"]["aps"]["1"]["ap_park"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(runs))
    p = subprocess.run([PY, "-m", "bootlab.bochs.crosscheck", "--load", str(bad)], cwd=ROOT,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    out = p.stdout
    assert re.search(r"^DIFF ap_pm_entry \(AP 1\)   CPU 1: .*\n +CS mode differs: QEMU 32-bit, "
                     r"Bochs 16-bit$", out, re.M)
    assert re.search(r"^DIFF ap_pg_set \(AP 1\)     CPU 0: .*\n +CR3 differs: QEMU 0x1000, "
                     r"Bochs 0x2000$", out, re.M)
    assert re.search(r"^DIFF ap_park \(AP 1\)       CPU 1: .*\n +not reached in Bochs$", out, re.M)
    assert "crosscheck: FAILED: 3 difference(s) between QEMU and Bochs" in out


def test_readme_crosscheck_block(smp_crosscheck):
    expected = readme_block("### What `make crosscheck` compares", "make crosscheck SMP=2")
    out = smp_crosscheck["stdout"]
    assert transcript.matches(expected, out), transcript.diff(expected, out)


# ---- record/replay ----------------------------------------------------------------------

def test_debug_rr_refuses_smp_in_one_line(smp_build, tmp_path):
    proc = make(f"B={smp_build}", f"RR_DIR={tmp_path}", "debug-rr", "SMP=2", check=False)
    assert proc.returncode != 0
    assert [l for l in proc.stderr.splitlines() if l.startswith("bootlab:")] == [
        "bootlab: SMP=2: QEMU 7.2's record/replay runs one CPU only (\"Record/replay feature "
        "is not supported for 'smp'\"); record SMP=1, or watch the APs live with make debug "
        "SMP=2"]
    assert not any(tmp_path.iterdir())
    rr = (ROOT / "README.md").read_text().split("## Time travel: make debug-rr")[1]
    rr = rr.split("\n## ")[0].split("```")[0]
    assert "record/replay\nrefuses `-smp` above 1" in rr


def test_an_ap_that_parks_without_writing_the_screen_ends_the_trace(tmp_path):
    """The kernel's APs always write their line; a trace that reaches ap_park
    first ends there, as a complete trace (main.ENDS_OK), saying so."""
    from bootlab.trace import main as trace_main
    from bootlab.trace.bios import Describer
    insn = dict(k="insn", n=1, lin=0x110c0, cs=0x18, ip=0x110c0, mode="64-bit", bits=64,
                paging="4-level", t=1.0, size=1, hex="c3", asm="ret", kind="ret",
                sym="ap_main+0x119", file=None, line=None, path=None)
    records = [dict(k="start", t=0.0, cpu=1, names=project.AP_NAMES, symbols={}), insn,
               dict(k="end", reason="park", t=1.1, lin=0x110c2,
                    message="CPU 1 reached ap_park before any write to VGA memory")]
    full, term, end = trace_main.render(records, Describer())
    assert end["reason"] in trace_main.ENDS_OK
    assert "== CPU 1 reached ap_park before any write to VGA memory: after instruction 1 at " \
           "0x110c0 ap_main+0x119 ==" in full
