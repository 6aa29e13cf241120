"""SMP builds (make SMP=N, kernel/smp/): the BSP finds the CPUs in the ACPI
MADT and starts each with INIT-SIPI-SIPI; every CPU's line reaches the
screen and the debug port with 1, 2, 4 and 8 CPUs, and the one-CPU kernel's
report is all still there; an AP that never comes is reported by the BSP,
in bounded time, and the run fails (BUG=sipi-vector); at the AP's stops
GDB's threads and `monitor info registers -a` agree on each CPU's state
(CPU 1 in real mode at 0a00:0000 while CPU 0 runs 64-bit code, then CPU 1
in 32-bit protected mode, then in C on its own stack with the BSP's GDT,
IDT and page tables); Bochs starts the same kernel's CPUs; the README's
transcript is today's output; and without SMP= the image is the one-CPU
kernel's, byte for byte."""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import EXIT_FAILURE, EXIT_SUCCESS, ROOT, gdb_batch, make, run_qemu, vga_text
from guests import driver

from bootlab import project
from bootlab.bochs import parse
from bootlab.lab import gradelib, transcript
from bootlab.qemu import monitor
from bootlab.x86 import modes

BANNER = "bootlab: 64-bit kernel running in long mode"
PASSED = "bootlab: all checks passed, halting."
TRAMPOLINE, SEGMENT = project.const("TRAMPOLINE_ADDR", "TRAMPOLINE_SEG")
TIMEOUT_MS = project.const("AP_ONLINE_TIMEOUT_MS")
AP_SYMBOLS = project.AP_NAMES + [project.AP_PARK, "ap_mailbox"]
REAL_MODE_LABELS = ("ap_start", "ap_gdt_loaded", "ap_pe_set")


def online(cpu):
    """What CPU number cpu writes (QEMU numbers the APIC IDs 0, 1, 2...)."""
    line = "cpu %d: online in 64-bit mode, APIC id %d" % (cpu, cpu)
    return line + " (bootstrap processor)" if cpu == 0 else line


@pytest.fixture(scope="module")
def smp_build(variant):
    """The SMP kernel: the same image for every CPU count."""
    return variant(SMP="2")


class Run:
    def __init__(self, screen, console, status, gdb_output):
        self.screen, self.console, self.status = screen, console, status
        self.gdb_output = gdb_output


def boot_to_debug_exit(build, cpus, tmp_path):
    """Boot build's image on `cpus` CPUs under GDB to debug_exit: the VGA
    screen, the debug port's text and the status the kernel passes."""
    dump, log = tmp_path / "vga.bin", tmp_path / "debugcon.log"
    result = gdb_batch(["add-symbol-file %s" % (build / "kernel.elf"), "hbreak debug_exit",
                        "continue", "info registers rdi",
                        "dump binary memory %s 0xb8000 0xb8fa0" % dump, "kill"],
                       image=build / "bootlab.img", symbols=False, timeout=60,
                       qemu_extra=("-smp", str(cpus), "-debugcon", "file:%s" % log))
    assert dump.exists(), result.stdout
    rdi = re.search(r"^rdi\s+(0x[0-9a-f]+)", result.stdout, re.M)
    return Run([l.rstrip() for l in vga_text(dump.read_bytes())],
               log.read_text(errors="replace").splitlines(), int(rdi.group(1), 16) & 0xff,
               result.stdout)


@pytest.fixture(scope="module")
def one_cpu_report(image, tmp_path_factory):
    """What the default (one-CPU) kernel prints."""
    status, out = run_qemu(image, tmp_path_factory.mktemp("one-cpu"))
    assert status == EXIT_SUCCESS, out
    return out.splitlines()


def in_order(wanted, lines):
    """wanted is a subsequence of lines."""
    it = iter(lines)
    return all(any(w == l for l in it) for w in wanted)


@pytest.mark.parametrize("cpus", [1, 2, 4, 8])
def test_every_cpu_comes_online(cpus, smp_build, one_cpu_report, tmp_path):
    run = boot_to_debug_exit(smp_build, cpus, tmp_path)
    assert run.status == project.const("DEBUG_EXIT_SUCCESS"), run.gdb_output
    want = [online(cpu) for cpu in range(cpus)]
    for where, lines in (("screen", run.screen), ("debug port", run.console)):
        assert [l for l in lines if l.startswith("cpu ")] == want, (where, lines)
        assert lines[0] == BANNER and PASSED in lines, (where, lines)
        # The one-CPU kernel's lines, in order, but for its size in sectors.
        same = [l for l in one_cpu_report if not l.startswith("kernel: ")]
        assert in_order(same, lines), (where, lines)
    if cpus > 1:
        assert ("smp: Start-Up IPIs with vector 0x0a: each AP starts at 0a00:0000"
                in run.console)


def test_missing_ap_is_reported_in_bounded_time(variant, tmp_path):
    """BUG=sipi-vector: the Start-Up IPIs reach no CPU. The BSP gives up on
    each AP after AP_ONLINE_TIMEOUT_MS, names it, and the run fails."""
    build = variant(SMP="2", BUG="sipi-vector")
    started = time.monotonic()
    run = boot_to_debug_exit(build, 3, tmp_path)
    took = time.monotonic() - started
    assert run.status == project.const("DEBUG_EXIT_FAILURE"), run.gdb_output
    for lines in (run.screen, run.console):
        assert in_order([online(0),
                         "smp: cpu 1 (APIC id 1) not online after %d ms: INIT sent to hold it"
                         % TIMEOUT_MS,
                         "smp: cpu 2 (APIC id 2) not online after %d ms: INIT sent to hold it"
                         % TIMEOUT_MS,
                         "smp: 1 of 3 CPUs online",
                         "bootlab: not every CPU came online, halting."], lines), lines
        assert PASSED not in lines and not [l for l in lines if l.startswith("cpu 1")]
    assert 2 * TIMEOUT_MS / 1000 <= took < 2 * TIMEOUT_MS / 1000 + 20


def test_smp_bug_needs_smp(tmp_path):
    proc = make(f"B={tmp_path}", "BUG=sipi-vector", check=False)
    assert proc.returncode != 0
    assert [l for l in proc.stderr.splitlines() if l.startswith("error:")] == [
        "error: BUG=sipi-vector is in the start-up of the other CPUs: give SMP=2 (or more) too"]


# ---- Each CPU's state, seen by GDB and by QEMU's monitor -------------------------

REGS = "rip cs eflags cr0 cr2 cr3 cr4 efer"


def gdb_registers(text):
    return {m.group(1): int(m.group(2), 16)
            for m in re.finditer(r"^(\w+)\s+(0x[0-9a-f]+)", text, re.M)}


def mode_of(cpu):
    v = cpu.values
    return modes.decide(v["CR0"], v["CR4"], v["EFER"], v.get("EFL", v.get("RFL")),
                        cpu.segs["CS"].flags)


def test_each_cpu_state_at_the_aps_stops(smp_build):
    """At ap_start, ap_pm_entry and ap_main: `info registers -a` against GDB's
    thread for each CPU, and what the two CPUs share and do not share."""
    stops = ["ap_start", "ap_pm_entry", "ap_main"]
    commands = ["add-symbol-file %s" % (smp_build / "kernel.elf")]
    for name in stops:
        commands += ["hbreak %s" % name, "continue", "delete", "info threads",
                     "monitor info registers -a", "thread 1", "info registers %s" % REGS,
                     "thread 2", "info registers %s" % REGS]
    t = driver.run_gdb(smp_build / "bootlab.img", commands, extra_qemu=["-smp", "2"])
    symbols = gradelib.symbols(smp_build)
    seen = {}
    for i, name in enumerate(stops):
        threads = t.out("info threads", i)
        assert "CPU#0" in threads and "CPU#1" in threads, threads
        cpus = monitor.parse_all(t.out("monitor info registers -a", i))
        assert [c.cpu for c in cpus] == [0, 1]
        for cpu in cpus:
            gdb = gdb_registers(t.out("info registers %s" % REGS, 2 * i + cpu.cpu))
            for reg, value in cpu.regs().items():
                assert gdb[reg] == value, (name, cpu.cpu, reg, gdb, cpu.text)
        seen[name] = cpus
    bsp, ap = seen["ap_start"]
    # CPU 0 waits for the AP in 64-bit code; CPU 1 starts in real mode at
    # VV00:0000, CS base = vector * 4096, where the INIT left it.
    assert mode_of(bsp).cpu == modes.LONG64 and mode_of(bsp).paging == "4-level"
    assert mode_of(ap).cpu == modes.REAL and mode_of(ap).paging == "off"
    assert (ap.segs["CS"].selector, ap.segs["CS"].base, ap.values["EIP"]) == \
        (SEGMENT, TRAMPOLINE, 0)
    assert not ap.halted
    bsp, ap = seen["ap_pm_entry"]
    assert mode_of(bsp).cpu == modes.LONG64
    assert mode_of(ap) == modes.Mode(modes.PROTECTED, 32, "off")
    assert ap.values["EIP"] == symbols["ap_pm_entry"]
    bsp, ap = seen["ap_main"]
    assert mode_of(ap) == modes.Mode(modes.LONG64, 64, "4-level")
    # Shared: the GDT, the IDT, the page tables. Its own: the stack.
    for table in ("GDT", "IDT"):
        assert ap.tables[table] == bsp.tables[table], table
    assert ap.values["CR3"] == bsp.values["CR3"] == project.const("PML4_ADDR")
    stacks = symbols["ap_stacks"]
    assert stacks < ap.values["RSP"] <= stacks + project.const("AP_STACK_SIZE")
    assert not stacks <= bsp.values["RSP"] < stacks + project.const(
        "AP_STACK_SIZE") * (project.const("SMP_MAX_CPUS") - 1)


# ---- Builds --------------------------------------------------------------------------

def test_trampoline_symbols(smp_build, image):
    """The AP path's transitions are symbols of kernel.elf (its Bochs .sym
    too), linked where they run: the trampoline's in TRAMPOLINE_ADDR's page;
    each but ap_main (C) starts with a Bochs magic breakpoint."""
    symbols = gradelib.symbols(smp_build)
    kernel = (smp_build / "kernel.bin").read_bytes()
    base = project.const("KERNEL_ADDR")
    assert symbols["ap_start"] == TRAMPOLINE
    for name in AP_SYMBOLS:
        assert name in (smp_build / "kernel.sym").read_text().split(), name
    for name in ("ap_gdt_loaded", "ap_pe_set", "ap_mailbox", "ap_pm_entry", "ap_pg_set"):
        assert TRAMPOLINE < symbols[name] < TRAMPOLINE + project.const("PAGE_SIZE"), name
    for name in project.AP_NAMES:
        at = symbols[name]
        if at < base:           # in the trampoline: stored after .data
            at += symbols["trampoline_load"] - TRAMPOLINE
        code = kernel[at - base:at - base + 3]
        # xchg bx, bx: 87 db in 16-bit code, 66 87 db in 32- and 64-bit code.
        magic = b"\x87\xdb" if name in REAL_MODE_LABELS else b"\x66\x87\xdb"
        assert code.startswith(magic) != (name == "ap_main"), (name, code)
    assert "ap_start" not in (image.parent / "kernel.sym").read_text()


def test_default_image_has_no_smp_code(image, tmp_path):
    """Without kernel/smp/ and without the #ifdef CONFIG_SMP blocks, the
    default build is the same image: SMP code reaches no one-CPU build."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    shutil.rmtree(src / "kernel/smp")
    for path in [*src.glob("kernel/*.[ch]"), src / "kernel/kernel.ld.S"]:
        path.write_text(re.sub(r"^#ifdef CONFIG_SMP\n.*?^#endif\n", "", path.read_text(),
                               flags=re.M | re.S))
    assert "CONFIG_SMP" not in "".join(p.read_text() for p in src.glob("kernel/*"))
    make(cwd=src)
    assert (src / "build/bootlab.img").read_bytes() == image.read_bytes()


def test_bad_cpu_count_is_one_line(smp_build):
    proc = make(f"B={smp_build}", "run-headless", "SMP=0", check=False)
    assert proc.returncode != 0
    assert "bootlab: SMP=0: the number of CPUs, 1 to 255" in proc.stdout + proc.stderr


def test_record_says_it_runs_one_cpu(smp_build, tmp_path):
    proc = make(f"B={smp_build}", f"RR_DIR={tmp_path}", "record", "SMP=2", check=False)
    assert proc.returncode != 0
    assert "QEMU 7.2's record/replay runs one CPU only" in proc.stderr


# ---- Bochs -----------------------------------------------------------------------------

# A stop of CPU 1 at its magic breakpoint (Bochs 2.7, cpu: count=2): its line
# comes before "Next at", the other CPU's after it.
BOCHS_AP_STOP = """\
(1) Magic breakpoint
(1) [0x00000000a002] 0a00:0002 (ap_start+2): cli                       ; fa
Next at t=16959789
(0) [0x000000011666] 0018:0000000000011666 (read_reg+8): mov dword ptr ss:[rbp-4], edi ; 897dfc
"""


def test_bochs_stop_of_an_ap_is_that_cpus():
    stop = parse.parse_stop(BOCHS_AP_STOP)
    assert (stop["kind"], stop["cpu"], stop["addr"], stop["seg"], stop["sym"]) == \
        ("magic", 1, 0xa002, SEGMENT, "ap_start+2")


def test_bochs_starts_every_cpu(smp_build):
    """Debian's Bochs 2.7 has SMP compiled in: run-bochs SMP=4."""
    env = dict(os.environ, BOOTLAB_BUILD=str(smp_build), BOOTLAB_SMP="4")
    proc = subprocess.run([sys.executable, "-m", "bootlab.bochs.run",
                           "--image", str(smp_build / "bootlab.img")], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    console = proc.stdout.split("VGA text screen:")[0].splitlines()
    assert [l for l in console if l.startswith("cpu ")] == [online(c) for c in range(4)]
    assert PASSED in console


# ---- The README -------------------------------------------------------------------------

def test_readme_transcripts(variant):
    """README "More than one CPU": each `$ make run-headless ...` block is
    what it prints today (in a build directory of the test's own)."""
    section = (ROOT / "README.md").read_text().split("## More than one CPU")[1].split("\n## ")[0]
    blocks = re.findall(r"```text\n(\$ make .*?)```", section, re.S)
    assert len(blocks) == 2
    for block in blocks:
        command, _, expected = block.partition("\n")
        words = command.split()[2:]
        options = dict(w.split("=", 1) for w in words if "=" in w)
        build = variant(SMP="2", **{k: v for k, v in options.items() if k != "SMP"})
        proc = make(f"B={build}", *words, check=False)
        assert transcript.matches(expected, proc.stdout), \
            "%s\n%s" % (command, transcript.diff(expected, proc.stdout))
