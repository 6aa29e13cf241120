"""The lab's bug hunts (make BUG=name): each variant fails the way the lab
text says, the default build is byte-for-byte what it is without the bug
blocks, and an unknown name is refused in one line."""
import re
import shutil
import subprocess
import sys

import pytest

from conftest import EXIT_FAILURE, EXIT_SUCCESS, ROOT, gdb_batch, make, run_qemu, vga_text

from bootlab.lab import checks  # noqa: F401  (registers the exercises)
from bootlab.lab import gradelib
from bootlab.qemu import monitor

BUGS = ["gdt-limit", "lm-selector", "no-pdpte", "a20-reset", "stage2-sectors", "vga-cell",
        "e820-stack"]
SMP_BUGS = ["sipi-vector"]      # SMP builds only (and tests/test_smp.py)


def nm(build, name):
    return gradelib.symbols(build)[name]


def test_bug_list_matches_genconfig_and_lab():
    text = (ROOT / "tools/genconfig.sh").read_text()
    assert re.search(r'^bugs="(.*)"$', text, re.M).group(1).split() == BUGS
    assert re.search(r'^smp_bugs="(.*)"$', text, re.M).group(1).split() == SMP_BUGS
    for bug in BUGS + SMP_BUGS:
        assert list((ROOT / "lab").glob(f"[0-9][0-9]-bug-{bug}.md")), bug


def test_unknown_bug_is_refused_in_one_line(tmp_path):
    proc = make(f"B={tmp_path}", "BUG=nope", check=False)
    assert proc.returncode != 0
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert errors == ["error: BUG=nope is not one of: " + " ".join(BUGS + SMP_BUGS)]


def test_default_build_is_unaffected_by_bug_blocks(image, tmp_path):
    """Strip every bug block from a copy of the sources: same image."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    for path in list(src.glob("boot/*.asm")) + list(src.glob("kernel/*.c")):
        text = path.read_text()
        text = re.sub(r"^%ifdef BUG_\w+.*?\n(.*?)(?:^%else.*?\n(.*?))?^%endif\n",
                      lambda m: m.group(2) or "", text, flags=re.M | re.S)
        text = re.sub(r"^#ifdef BUG_\w+.*?\n.*?^#endif\n", "", text, flags=re.M | re.S)
        path.write_text(text)
    assert not re.search(r"\bBUG_", "".join(p.read_text() for p in src.glob("boot/*.asm")))
    make(cwd=src)
    assert (src / "build/bootlab.img").read_bytes() == image.read_bytes()


@pytest.mark.parametrize("bug,vector", [("gdt-limit", 0x0d), ("lm-selector", 0x0e),
                                        ("no-pdpte", 0x0e)])
def test_triple_fault_bugs(bug, vector, variant):
    build = variant(BUG=bug)
    faults, log = gradelib.interrupt_log(build)
    assert "Triple fault" in log
    first = faults[0]
    assert first["v"] == vector
    assert [f["v"] for f in faults[1:3]] == [0x08], "then a double fault, then the reset"
    if bug == "gdt-limit":          # the far jump right after pe_set's magic break
        assert first["pc"] == nm(build, "pe_set") + 2 and first["e"] == 0
    elif bug == "lm-selector":      # kernel code run in compatibility mode (CS 0x08)
        assert first["cs"] == 0x08 and nm(build, "lm_entry") < first["pc"] < nm(build, "kernel_end")
    else:                           # the first fetch through the tables
        assert first["cr2"] == first["pc"] == nm(build, "pg_set")


def test_a20_reset_bug_resets_the_machine(variant, tmp_path):
    """-no-reboot turns the reset into an exit: no exception, nothing printed."""
    build = variant(BUG="a20-reset")
    faults, log = gradelib.interrupt_log(build)
    assert faults == [] and "Triple fault" not in log
    result = gdb_batch([f"hbreak *{nm(build, 'enable_a20')}", "continue", "stepi 2",
                        "print/x $al", "continue", "monitor info status", "kill"],
                       image=build / "bootlab.img", symbols=False)
    assert "Program received signal SIGQUIT" in result.stdout
    assert "VM status: paused (shutdown)" in result.stdout
    assert "$1 = 0x3" in result.stdout


def test_stage2_sectors_bug_dies_without_a_word(variant, tmp_path):
    build = variant(BUG="stage2-sectors")
    status, out = run_qemu(build / "bootlab.img", tmp_path, timeout=10)
    assert status == EXIT_FAILURE and out == ""
    result = gdb_batch([f"hbreak *{nm(build, 'pm_entry')}", "continue", "x/wx $pc"],
                       image=build / "bootlab.img", symbols=False)
    assert re.search(r"0x9000:\s+0x00000000", result.stdout), result.stdout


def test_vga_cell_bug_garbles_only_the_screen(variant, tmp_path):
    build = variant(BUG="vga-cell")
    status, out = run_qemu(build / "bootlab.img", tmp_path)
    assert status == EXIT_SUCCESS
    assert out.startswith("bootlab: 64-bit kernel running in long mode")
    dump = tmp_path / "vga.bin"
    gdb_batch([f"hbreak *{nm(build, 'debug_exit')}", "continue",
               f"dump binary memory {dump} 0xb8000 0xb8fa0", "kill"],
              image=build / "bootlab.img", symbols=False)
    cells = dump.read_bytes()
    assert cells[0:2] == bytes([0x0a, ord("b")]), "attribute where the character belongs"
    assert not vga_text(cells)[0].startswith("bootlab")


# ---- 19: e820-stack, the time-travel hunt ----------------------------------------

def panic_fields(text):
    return {k: int(v, 16) for k, v in re.findall(
        r"(RIP|CR2 \(faulting address\)|RSP)[:=] ?0x([0-9a-f]+)", text)}


def test_e820_stack_bug_returns_into_a_memory_map_value(variant, tmp_path):
    """The copy overruns its 4-entry array; the function returns to an E820
    base address, where no code is: a #PF on the fetch, far from the cause."""
    build = variant(BUG="e820-stack")
    status, out = run_qemu(build / "bootlab.img", tmp_path)
    assert status == EXIT_FAILURE
    entries = int(re.search(r"E820 memory map, (\d+) entries", out).group(1))
    bases = [int(b, 16) for b in re.findall(r"^  ([0-9a-f]{16}) - ", out, re.M)]
    assert len(bases) == entries > 4, "more entries than the bug's array holds"
    assert "KERNEL PANIC: CPU exception 14, #PF" in out
    f = panic_fields(out)
    assert f["RIP"] == f["CR2 (faulting address)"] in bases
    assert "largest usable range" not in out, "the function never returned to its caller"


def int_after(elf, routine, vector):
    """Address of the first `int vector` after routine's label (objdump)."""
    listing = subprocess.check_output(["objdump", "-d", "-M", "i8086", str(elf)], text=True)
    body = listing[listing.index(f"<{routine}>:"):]
    return int(re.search(rf"^\s*([0-9a-f]+):\s+cd {vector:02x}", body, re.M).group(1), 16)


MARK = "@@"


def printed(text):
    """The values GDB's print commands showed in text, in order."""
    return re.findall(r"^(?:\(gdb\) )*\$\d+ = (.+)$", text, re.M)


def test_e820_stack_hunt_in_a_replay_finds_the_graders_answers(tmp_path):
    """Lab 19 the learner's way (make debug-rr, commands typed into GDB) on the
    grader's own bug build: the values found going back from the crash are
    the ones the grader computes from plain forward GDB sessions."""
    from test_lab_grade import Oracle
    oracle = Oracle(tmp_path)
    gradelib.EXERCISES[19][1](oracle)
    truth = {k.split(".")[1]: int(v, 16) for k, v in oracle.truth.items()}
    assert len(truth) == 7, oracle.results
    out = gradelib.build(BUG="e820-stack")
    int15 = int_after(out / "boot16.elf", "read_e820", gradelib.const("BIOS_SYSTEM_INT"))

    def mark(name):
        return f"echo {MARK}{name}\\n"
    cmds = ["delete", "continue", mark("end"), "bl replay",
            "break isr_14", "reverse-continue", "reverse-stepi", mark("ret"),
            "x/i $pc", "p/x $sp", "x/gx $sp",
            "watch -l *(long *)$sp", mark("write"), "reverse-continue", "p i",
            "delete", "watch -l *(int *)&info->e820_map[i].base", mark("bios"),
            "reverse-continue", "bl mode", "p/x $cs", "p/x $bl_pc()",
            "delete", f"break *{int15:#x}", mark("int"), "reverse-continue", "p/x $di",
            "kill", "quit"]
    proc = subprocess.run(["make", "-s", f"B={out}", f"RR_DIR={tmp_path / 'rr'}",
                           "BUG=e820-stack", "debug-rr"], cwd=ROOT, capture_output=True,
                          text=True, input="\n".join(cmds) + "\n", timeout=120)
    text = proc.stdout + proc.stderr
    part = dict(chunk.partition("\n")[::2] for chunk in text.split(MARK)[1:])
    assert "halted" in (tmp_path / "rr/recording.json").read_text(), "the recording ends at the panic"
    assert re.search(r"instruction \d+", part["end"]), text
    ret = part["ret"]
    assert re.search(r"=> 0x[0-9a-f]+ <largest_usable\+\d+>:\s+retq", ret), ret
    assert printed(ret) == [hex(truth["slot"])]
    assert re.search(rf":\s+{truth['fault_rip']:#018x}", ret), ret
    write = part["write"]
    assert re.search(rf"New value = {truth['return_address']}\n.* in copy_map ", write), write
    assert printed(write) == [str(truth["index"])]
    bios = part["bios"]
    assert "mode 64-bit -> real (going back)" in bios
    assert re.search(r"^(?:\(gdb\) )*mode:\s+real$", bios, re.M), bios
    assert printed(bios) == [hex(truth["bios_cs"]), hex(truth["bios_writer"])]
    assert printed(part["int"]) == [hex(truth["di_at_int"])], part["int"]


# ---- 22: sipi-vector, the SMP hunt -------------------------------------------------

SMP_CPUS = 2        # as lab/22 starts it: make BUG=sipi-vector debug SMP=2


def sipi_facts(build, *steps):
    """A probe session on two CPUs: to the BSP's first Start-Up IPI for CPU 1
    (stopped in lapic_send, before the ICR write), then `steps`."""
    from bootlab.lab.checks import sipi_plan
    s = gradelib.Session(build, sipi_plan(build)[:5] + list(steps), "test", cpus=SMP_CPUS)
    assert s.facts["sipi"]["reached"], s.output
    return s.facts


def test_sipi_vector_bug_sends_a_logical_start_up_ipi_to_page_0(variant):
    """Lab 22's diagnosis: the bug's ICR word is the right one with the
    page number taken out and the destination-mode bit put in; CPU 1 stays
    where SeaBIOS parked it."""
    c = gradelib.const
    good = sipi_facts(variant(SMP=str(SMP_CPUS)))
    bad = sipi_facts(variant(SMP=str(SMP_CPUS), BUG="sipi-vector"),
                     ["gdb", "bp", "hbreak ap_start"], ["run", "end", "debug_exit"],
                     ["eval", "status", "status"], ["gdb", "regs", "monitor info registers -a"])
    assert good["icr_sipi"] ^ bad["icr_sipi"] == c("ICR_DEST_LOGICAL") | c("TRAMPOLINE_VECTOR")
    assert bad["icr_sipi"] & c("ICR_VECTOR_MASK") == 0
    assert bad["end"]["reached"] and bad["status"] == c("DEBUG_EXIT_FAILURE")
    cpu1 = monitor.parse_all(bad["regs"])[1]
    assert cpu1.halted and not cpu1.values["CR0"] & c("CR0_PG"), "still in SeaBIOS's code"


def test_sipi_vector_challenge_mends_each_mistake(variant):
    """Lab 22's challenge, in the debugger at the INIT's stop: the right
    vector brings CPU 1 online; only the destination bit cleared starts it
    at page 0, 0000:0000."""
    c = gradelib.const
    from bootlab.lab.checks import sipi_plan
    build = variant(SMP=str(SMP_CPUS), BUG="sipi-vector")
    to_init = sipi_plan(build)[:2] + [["gdb", "up", "up"]]
    mended = gradelib.Session(build, to_init + [
        ["gdb", "set", f"set var vector = {c('TRAMPOLINE_VECTOR')}"], ["gdb", "clear", "delete"],
        ["run", "end", "debug_exit"], ["eval", "status", "status"]], "test", cpus=SMP_CPUS)
    assert mended.facts["status"] == c("DEBUG_EXIT_SUCCESS"), mended.output
    physical = gradelib.Session(build, to_init + [
        ["gdb", "set", "set var vector = vector & ~(1 << 11)"], ["gdb", "clear", "delete"],
        ["gdb", "bp", "hbreak *0"], ["cont", "start"], ["eval", "thread", "$_thread"],
        ["gdb", "regs", "monitor info registers -a"]], "test", cpus=SMP_CPUS)
    regs = monitor.parse_all(physical.facts["regs"])[physical.facts["thread"] - 1]
    assert regs.cpu == 1 and regs.segs["CS"].selector == 0 and regs.values["EIP"] == 0
