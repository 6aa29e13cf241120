"""One checker per exercise (lab/NN-*.md), registered with
@exercise. Each computes the truth from the build and the live machine
(gradelib.py) and compares your answers in lab/answers.txt with it.
The `where` texts are the hints a wrong answer gets: where to look, never
the value."""
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .gradelib import (LAB, ROOT, Session, Wrong, build, const, descriptor, exercise,
                      mode_name, monitor_segment, symbols)
from . import gradelib
from ..qemu import monitor
from ..x86 import decode, modes

# A headless run gives the same answer every time: once per process.
headless = functools.lru_cache(maxsize=None)(gradelib.headless)
interrupt_log = functools.lru_cache(maxsize=None)(gradelib.interrupt_log)

SCRIPTS = LAB / "scripts"


_sessions = {}


def session(g, out, plan, tag, cpus=None):
    """Run one probe session (or reuse the one this process already ran with
    the same build, plan and CPUs) and keep its output for the log. `cpus`:
    a machine with that many CPUs (default: as many as the build's SMP=)."""
    key = (str(out), json.dumps(plan), cpus)
    if key not in _sessions:
        _sessions[key] = Session(out, plan, tag, cpus)
    s = _sessions[key]
    g.logs.append(f"== {tag}: GDB/QEMU session; what your scripts printed, and how it ended:\n"
                  f"{s.output}")
    return s


def reached(s, name, where):
    stop = s[name]
    if not stop.get("reached"):
        # Not GDB's stop text: it names the place and values the machine
        # showed, which may be the very answers.
        raise Wrong(f"the machine did not stop at {where} (how the session ended is in "
                    "the grader's notes)")
    return stop


def u16(hexbytes, offset=0):
    return int.from_bytes(bytes.fromhex(hexbytes)[offset:offset + 2], "little")


def u32(hexbytes, offset=0):
    return int.from_bytes(bytes.fromhex(hexbytes)[offset:offset + 4], "little")


def u64(hexbytes, offset=0):
    return int.from_bytes(bytes.fromhex(hexbytes)[offset:offset + 8], "little")


SCRIPT_MAX = 64 << 10     # bytes: a script of a few lines


def script(g, name):
    """Path of a learner's script in lab/scripts/, or Wrong when it is still
    empty (comments only) or cannot be read."""
    path = g.scripts / name
    if not path.exists():
        raise Wrong(f"lab/scripts/{name} has no commands yet")
    try:
        text = gradelib.read_text(path, f"lab/scripts/{name}", SCRIPT_MAX)
    except gradelib.AnswersError as e:
        raise Wrong(str(e))
    body = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    if not body:
        raise Wrong(f"lab/scripts/{name} has no commands yet")
    return path


def learner_steps(g, name):
    """Plan steps that reset the machine, run to 0x7c00 (where `make debug`
    leaves you) and source the learner's script; [] when it is empty."""
    try:
        path = script(g, name)
    except Wrong:
        return []
    return [["gdb", "reset", "monitor system_reset"], ["gdb", "flush", "maintenance flush register-cache"],
            ["gdb", "clear", "delete"], ["run", "s_7c00", "*0x7c00"],
            ["source", "script", str(path)], ["eval", "s_pc", "$pc"]]


def learner_ran(g, s, name):
    script(g, name)          # the script's own problem first: empty, unreadable, not UTF-8
    if "script" not in s.facts:
        if s.timed_out:
            raise Wrong(f"lab/scripts/{name} did not finish within {gradelib.SESSION_LIMIT_S:g} s "
                        "(an endless `while` loop?)")
        if s.plan_had_script:
            raise Wrong(f"lab/scripts/{name} ended the GDB session before the grader could "
                        "look at the machine (does it `kill` or `quit`? Leave that out)")
        raise Wrong(f"lab/scripts/{name} has no commands yet")
    result = s["script"]
    if result["error"]:
        raise Wrong(f"lab/scripts/{name} stopped with an error: {result['error']}")
    after = s.facts.get("s_pc")
    if isinstance(after, dict) and "no registers" in after.get("error", "").lower():
        raise Wrong(f"lab/scripts/{name} ended the guest (does it `kill`? Leave that out: "
                    "the grader looks at the machine after your script)")


# ---- 1. The BIOS hands over at 0x7c00 ----------------------------------------------

@exercise(1, "The BIOS hands over at 0x7c00")
def ex01(g):
    out = build()
    boot = const("BOOT_SECTOR_ADDR")
    # QEMU starts paused at the reset vector: read it before anything runs.
    s = session(g, out, [["gdb", "reset", "monitor info registers"],
                         ["run", "start", "*0x7c00"], ["eval", "dl", "$dl"], ["eval", "sp", "$sp"],
                         ["mem", "sig", boot + const("BOOT_CODE_MAX"), 2], ["gdb", "step", "stepi"],
                         ["eval", "ip", "$pc"], ["eval", "cs", "$cs"]], "ex01")
    g.number("ex01.dl", 2, lambda: reached(s, "start", "0x7c00") and s["dl"],
             "DL at the boot sector's first instruction (step 2, `info registers dl`)")
    g.number("ex01.signature", 2, lambda: u16(s["sig"]),
             "the 16-bit word at the last two bytes of the boot sector (step 3, `x/hx`)")
    g.number("ex01.ip_after_jump", 2, lambda: s["ip"],
             "IP after one `stepi` from 0x7c00 (step 4)")
    g.number("ex01.cs_after_jump", 1, lambda: s["cs"], "CS after that `stepi` (step 4)")

    def reset_cs():
        regs = monitor.parse(s["reset"])
        return regs.segs["CS"].base, regs.values["EIP"]
    g.number("ex01.reset_linear", 0, lambda: sum(reset_cs()),
             "the linear address of the first instruction (challenge: CS.base + IP, "
             "`make debug STOP=reset`)", optional=True)
    g.number("ex01.reset_cs_base", 0, lambda: reset_cs()[0],
             "CS's hidden base at the reset vector (challenge: `bl seg`)", optional=True)


# ---- 2. Real-mode addressing and the stack ----------------------------------------

@exercise(2, "Real-mode addressing and the stack")
def ex02(g):
    out = build()
    s = session(g, out, [["run", "s2", "stage2_start"], ["eval", "sp_s2", "$sp"],
                         ["run", "a20", "enable_a20"], ["eval", "sp_a20", "$sp"],
                         ["eval", "ret", "*(unsigned short *)$sp"]], "ex02")
    seg, off = const("A20_PROBE_SEG", "A20_PROBE_OFF")
    g.number("ex02.probe_linear", 2, lambda: seg * 16 + off,
             "the linear address of A20_PROBE_SEG:A20_PROBE_OFF (boot/a20.asm, bootlab.h)")
    g.number("ex02.stack_top", 1, lambda: reached(s, "s2", "stage2_start") and s["sp_s2"],
             "SP at stage2_start (step 3)")
    g.number("ex02.sp_in_enable_a20", 2, lambda: reached(s, "a20", "enable_a20") and s["sp_a20"],
             "SP at the first instruction of enable_a20 (step 4)")
    g.number("ex02.return_address", 2, lambda: s["ret"],
             "the word on top of the stack at enable_a20 (step 4, `x/hx $sp`)")


# ---- 3. Loading sectors with INT 13h ----------------------------------------------

@exercise(3, "Loading sectors with INT 13h")
def ex03(g):
    out = build()
    sym = symbols(out)
    dap = sym["dap"]
    s = session(g, out, [["run", "loaded", "stage2_loaded"], ["mem", "dap", dap, 16],
                         ["eval", "sectors", f"*(unsigned int *)({const('BOOT_INFO_ADDR')} + "
                          f"{const('BI_KERNEL_SECTORS')})"],
                         ["mem", "kernel", const("KERNEL_ADDR"), 16]]
                + learner_steps(g, "03-dap.gdb")
                + [["eval", "s_ah", "$ah"], ["mem", "s_code", "$pc", 2], ["mem", "s_dap", dap, 16]],
                "ex03")
    kernel_bin = (out / "kernel.bin").read_bytes()
    g.number("ex03.dap_address", 2, lambda: dap, "the address of the disk address packet `dap` "
             "(step 2: `info address dap` or `print &dap`)")
    g.number("ex03.kernel_lba", 1, lambda: const("KERNEL_LBA"),
             "the LBA field of the packet for the kernel's read (step 3)")
    g.number("ex03.kernel_sectors", 2, lambda: reached(s, "loaded", "stage2_loaded") and s["sectors"],
             "the number of sectors the boot sector read for the kernel (step 4, boot_info)")

    def loaded():
        if bytes.fromhex(s["kernel"]) != kernel_bin[:16]:
            raise Wrong("the machine's memory at KERNEL_ADDR does not hold build/kernel.bin")
    g.test("kernel bytes at KERNEL_ADDR match build/kernel.bin", 1, loaded)

    def stops_at_kernel_read():
        learner_ran(g, s, "03-dap.gdb")
        if bytes.fromhex(s["s_code"]) != b"\xcd" + bytes([const("BIOS_DISK_INT")]):
            raise Wrong("lab/scripts/03-dap.gdb must stop on the `int 0x13` instruction itself "
                        "(`x/i $pc` there shows it)")
        if s["s_ah"] != const("BIOS_EXT_READ"):
            raise Wrong("that `int 0x13` is not an extended read (look at AH)")
        if u32(s["s_dap"], 8) != const("KERNEL_LBA"):
            raise Wrong("the script stops at a read, but not the kernel's (look at the packet's LBA)")
    g.test("lab/scripts/03-dap.gdb stops at the kernel's INT 13h", 3, stops_at_kernel_read)


# ---- 4. A20 -----------------------------------------------------------------------

@exercise(4, "The A20 gate")
def ex04(g):
    out = build()
    info = const("BOOT_INFO_ADDR") + const("BI_A20_METHOD")
    steps = learner_steps(g, "04-a20-off.gdb")
    s = session(g, out, steps[3:] + [["eval", "method", f"*(unsigned char *){info}"],
                                     ["gdb", "monitor", "monitor info registers"]] if steps else [],
                "ex04")
    sym = symbols(out)
    seg, off = const("A20_PROBE_SEG", "A20_PROBE_OFF")
    g.number("ex04.alias", 2, lambda: seg * 16 + off,
             "the address above 1 MiB that a20_is_on writes through FS (boot/a20.asm)")

    def script_turns_a20_off():
        learner_ran(g, s, "04-a20-off.gdb")
        if s["s_pc"] != sym["a20_enabled"]:
            raise Wrong("lab/scripts/04-a20-off.gdb must end stopped at a20_enabled")
        if s["method"] == const("A20_WAS_ON"):
            raise Wrong("enable_a20 found A20 already on: turn it off before stage 2 tests it")
        if "A20=1" not in s["monitor"]:
            raise Wrong("A20 is not on at a20_enabled (monitor info registers)")
    g.test("lab/scripts/04-a20-off.gdb: A20 off before enable_a20, on after", 4, script_turns_a20_off)

    def method():
        script_turns_a20_off()
        return s["method"]
    g.number("ex04.method_after_off", 2, method,
             "boot_info.a20_method (BOOT_INFO_ADDR + BI_A20_METHOD) at a20_enabled in your script's run")

    # The challenge's machine without INT 15h AX=2401h: close the gate as
    # step 2 does, then skip enable_a20's `int 0x15` and see which method
    # stage 2 falls back to.
    at = first_int(out, sym, "enable_a20", const("BIOS_SYSTEM_INT"))
    c = session(g, out, [["run", "s2", "stage2_start"],
                         ["gdb", "code", "set {unsigned char[6]}0x600 = "
                          "{0xe4, 0x92, 0x24, 0xfd, 0xe6, 0x92}"],
                         ["gdb", "pc", "set $pc = 0x600"], ["gdb", "off", "stepi 3"],
                         ["gdb", "back", f"set $pc = {sym['stage2_start']:#x}"],
                         ["run", "int", f"*{at:#x}"], ["gdb", "skip", "set $pc = $pc + 2"],
                         ["run", "on", "a20_enabled"], ["eval", "method", f"*(unsigned char *){info}"]],
                "ex04-challenge")
    g.number("ex04.method_without_bios", 0,
             lambda: reached(c, "on", "a20_enabled") and c["method"],
             "boot_info.a20_method when INT 15h AX=2401h does nothing (challenge: which "
             "branch of enable_a20 runs next)", optional=True)


# ---- 5. The GDT ----------------------------------------------------------------------

@exercise(5, "The GDT and its descriptors")
def ex05(g):
    out = build()
    sym = symbols(out)
    s = session(g, out, [["run", "lgdt", "gdt_loaded"], ["gdb", "info", "monitor info registers"],
                         ["mem", "gdt", sym["gdt"], 8 * const("GDT_ENTRIES")]], "ex05")

    def gdtr():
        reached(s, "lgdt", "gdt_loaded")
        m = re.search(r"^GDT=\s+([0-9a-f]+) ([0-9a-f]+)", s["info"], re.M)
        return int(m.group(1), 16), int(m.group(2), 16)

    def entry(selector):
        return descriptor(bytes.fromhex(s["gdt"])[selector:selector + 8])
    g.number("ex05.gdt_base", 1, lambda: gdtr()[0], "GDTR's base after LGDT (step 2)")
    g.number("ex05.gdt_limit", 1, lambda: gdtr()[1], "GDTR's limit after LGDT (step 2)")
    code64 = const("SEL_CODE64")
    g.number("ex05.code64_raw", 2, lambda: entry(code64)["raw"],
             "the 8 bytes of the descriptor SEL_CODE64 selects, as one 64-bit number (step 3, `x/gx`)")
    g.number("ex05.code64_access", 2, lambda: entry(code64)["access"],
             "bits 40-47 of that descriptor (step 4)")
    g.number("ex05.code64_flags", 2, lambda: entry(code64)["flags"],
             "bits 52-55 of that descriptor (step 4)")
    g.number("ex05.data32_limit_bytes", 2, lambda: entry(const("SEL_DATA32"))["bytes"],
             "the last valid offset of SEL_DATA32's segment, in bytes, with G applied (step 5)")
    g.word("ex05.base_in_64bit", 0, lambda: ["fs", "gs"],
           "a segment register whose base 64-bit mode still adds (challenge: SDM Vol. 3A "
           "3.4.4, `info registers fs_base`)", optional=True)


# ---- 6. CR0.PE and the far jump -------------------------------------------------------

@exercise(6, "CR0.PE and the far jump")
def ex06(g):
    out = build()
    s = session(g, out, [["run", "pe", "pe_set"], ["gdb", "pe_info", "monitor info registers"],
                         ["run", "pm", "pm_entry"], ["gdb", "pm_info", "monitor info registers"],
                         ["eval", "cr0", "$cr0"]], "ex06")

    def cs(where):
        reached(s, where, where + " stop")
        return monitor_segment(s[where + "_info"], "CS")
    g.number("ex06.cs_before", 1, lambda: cs("pe")[0], "CS's selector at pe_set (step 2)")
    g.number("ex06.cs_limit_before", 2, lambda: cs("pe")[2],
             "CS's hidden limit at pe_set (step 2, `bl seg` or `monitor info registers`)")
    g.number("ex06.cs_after", 1, lambda: cs("pm")[0], "CS's selector at pm_entry (step 4)")
    g.number("ex06.cs_limit_after", 2, lambda: cs("pm")[2], "CS's hidden limit at pm_entry (step 4)")
    g.number("ex06.cr0_at_pm_entry", 1, lambda: s["cr0"], "CR0 at pm_entry (step 4, `bl cr`)")

    # The challenge: D cleared in the descriptor the far jump loads.
    flags = f"*(unsigned char *)({symbols(out)['gdt']} + {const('SEL_CODE32')} + 6)"
    c = session(g, out, [["run", "pe", "pe_set"],
                         ["gdb", "clear", f"set {flags} = {flags} & ~{const('DESC_DB') >> 16:#x}"],
                         ["gdb", "jump", "stepi 2"], ["gdb", "info", "monitor info registers"]],
                "ex06-challenge")

    def bits():
        reached(c, "pe", "pe_set")
        regs = monitor.parse(c["info"])
        v = regs.values
        return modes.decide(v["CR0"], v["CR4"], v["EFER"], v.get("EFL", 0),
                            regs.segs["CS"].flags).bits
    g.number("ex06.bits_without_d", 0, bits, "the code size CS has at pm_entry with D "
             "cleared (challenge: `bl seg`, `bl mode`)", optional=True)


# ---- 7. Page tables ------------------------------------------------------------------

QUESTION_ADDRESS = 0x12345678   # the address exercise 7 asks you to translate


def table_steps(tag, linear):
    """Probe steps that read the PML4, PDPT and PD entries for linear."""
    pml4 = "($cr3 & 0xffffffffff000)"
    e4 = f"*(unsigned long long *)({pml4} + 8 * {(linear >> 39) & 511})"
    e3 = f"*(unsigned long long *)(({e4} & 0xffffffffff000) + 8 * {(linear >> 30) & 511})"
    e2 = f"*(unsigned long long *)(({e3} & 0xffffffffff000) + 8 * {(linear >> 21) & 511})"
    return [["eval", f"{tag}4", e4], ["eval", f"{tag}3", e3], ["eval", f"{tag}2", e2]]


def translate(s, tag, linear):
    """Physical address of linear from the probed entries (2 MiB pages)."""
    e2 = s[f"{tag}2"]
    if not (s[f"{tag}4"] & s[f"{tag}3"] & e2 & 1) or not e2 & 0x80:
        raise Wrong("the walk does not end in a present 2 MiB page")
    return (e2 & 0xfffffffe00000) | (linear & 0x1fffff)


@exercise(7, "Page tables: translating 0xb8000 by hand")
def ex07(g):
    out = build()
    vga = const("VGA_TEXT_ADDR")
    q = QUESTION_ADDRESS
    s = session(g, out, [["run", "k", "kmain"]] + table_steps("v", vga) + table_steps("q", q)
                + [["mem", "pd", "(*(unsigned long long *)((*(unsigned long long *)($cr3 & "
                    "0xffffffffff000)) & 0xffffffffff000)) & 0xffffffffff000", 4096]], "ex07")
    g.number("ex07.pml4e", 1, lambda: reached(s, "k", "kmain") and s["v4"],
             "the PML4 entry the walk of 0xb8000 reads (step 3)")
    g.number("ex07.pdpte", 1, lambda: s["v3"], "the PDPT entry the walk of 0xb8000 reads (step 4)")
    g.number("ex07.pde", 2, lambda: s["v2"], "the PD entry the walk of 0xb8000 reads (step 5)")
    g.number("ex07.q_pd_index", 2, lambda: (q >> 21) & 511,
             "bits 21-29 of the question's address (step 7)")
    g.number("ex07.q_physical", 2, lambda: translate(s, "q", q),
             "the physical address the question's address maps to (step 7)")

    def first_unmapped():
        pd = bytes.fromhex(s["pd"])
        present = [u64(s["pd"], 8 * i) & 1 for i in range(len(pd) // 8)]
        return (present.index(0) if 0 in present else len(present)) * const("LARGE_PAGE_SIZE")
    g.number("ex07.first_unmapped", 2, first_unmapped,
             "the lowest linear address no entry maps (step 8: `bl maps`)")

    # The challenge: the walk of the address FAULT=pf writes to (the panic
    # screen's CR2), in the FAULT=pf build, at kmain.
    def missing_level():
        pf = build(FAULT="pf")
        cr2 = panic(headless(pf))(r"CR2 \(faulting address\): 0x([0-9a-f]+)")
        c = session(g, pf, [["run", "k", "kmain"]] + table_steps("f", cr2), "ex07-challenge")
        reached(c, "k", "kmain")
        for level, names in (("f4", ["pml4e", "pml4"]), ("f3", ["pdpte", "pdpt"]),
                             ("f2", ["pde", "pd"])):
            if not c[level] & 1:
                return names
            if level == "f2" and c[level] & 0x80:
                break
        return ["pte", "pt", "none"]
    g.word("ex07.pf_missing_level", 0, missing_level, "the level whose entry is not present "
           "in the walk of FAULT=pf's address (challenge: `bl walk`)", optional=True)


# ---- 8. Long mode ---------------------------------------------------------------------

@exercise(8, "EFER.LME, CR0.PG and the two halves of long mode")
def ex08(g):
    out = build()
    s = session(g, out, [["run", "lme", "lme_set"], ["gdb", "lme_info", "monitor info registers"],
                         ["run", "pg", "pg_set"], ["gdb", "pg_info", "monitor info registers"],
                         ["run", "lm", "lm_entry"], ["gdb", "lm_info", "monitor info registers"],
                         ["mem", "lm_code", "$pc", 64]],
                "ex08")

    def efer(where):
        reached(s, where, where)
        return int(re.search(r"EFER=([0-9a-f]+)", s[where + "_info"]).group(1), 16)
    g.number("ex08.efer_at_lme_set", 2, lambda: efer("lme"), "EFER at lme_set (step 2, `bl cr`)")
    g.number("ex08.efer_at_pg_set", 2, lambda: efer("pg"), "EFER at pg_set (step 3)")
    g.word("ex08.mode_at_pg_set", 2, lambda: mode_name(s["pg_info"]),
           "the mode `bl mode` names at pg_set (one word)")
    g.number("ex08.cs_at_pg_set", 1, lambda: monitor_segment(s["pg_info"], "CS")[0], "CS at pg_set")
    g.number("ex08.cs_at_lm_entry", 1, lambda: reached(s, "lm", "lm_entry") and
             monitor_segment(s["lm_info"], "CS")[0], "CS at lm_entry (step 4)")

    def rex_byte():
        """The first byte of lm_entry's `mov rsp, ...`, as memory holds it."""
        reached(s, "lm", "lm_entry")
        code = bytes.fromhex(s["lm_code"])
        for insn in decode.decode(code, const("KERNEL_ADDR"), 64, count=32, syntax="intel"):
            if insn.mnemonic.startswith("mov") and insn.op_str.startswith("rsp,"):
                return insn.bytes[0]
        raise Wrong("no `mov rsp, ...` in lm_entry's first instructions")
    g.number("ex08.rex_byte", 0, rex_byte, "the first byte of `mov rsp, kernel_stack_top` "
             "(challenge: `x/11i 0x10000` at pg_set and at lm_entry)", optional=True)


# ---- 9. The first C code ----------------------------------------------------------------

@exercise(9, "The first C code: stack and calling convention")
def ex09(g):
    out = build()
    sym = symbols(out)
    s = session(g, out, [["run", "k", f"*{sym['kmain']}"], ["eval", "rsp", "$rsp"],
                         ["eval", "ret", "*(unsigned long long *)$rsp"], ["eval", "rdi", "$rdi"],
                         ["run", "ci", "console_init"], ["gdb", "bt", "bt"]],
                "ex09")
    g.number("ex09.stack_top", 1, lambda: sym["kernel_stack_top"],
             "the symbol lm_entry loads into RSP (step 2)")
    g.number("ex09.rsp_at_kmain", 2, lambda: reached(s, "k", "*kmain") and s["rsp"],
             "RSP at kmain's very first instruction, before its prologue (step 3, `break *kmain`)")
    g.number("ex09.return_address", 2, lambda: s["ret"],
             "the 8 bytes on top of the stack there (step 3)")
    g.number("ex09.rdi", 2, lambda: s["rdi"], "the register holding kmain's first argument (step 4)")
    g.number("ex09.bt_frames", 0, lambda: reached(s, "ci", "console_init") and
             len(re.findall(r"^#\d+", s["bt"], re.M)), "the frames `bt` lists in the first "
             "function kmain calls (challenge)", optional=True)


# ---- 10. VGA text memory -------------------------------------------------------------

@exercise(10, "VGA text memory: a watchpoint on a cell")
def ex10(g):
    out = build()
    vga = const("VGA_TEXT_ADDR")
    steps = learner_steps(g, "10-vga.gdb")
    s = session(g, out, [["run", "k", "kmain"], ["gdb", "w", f"watch *(short *){vga}"],
                         ["cont", "wstop"], ["gdb", "line", "info line *($pc - 1)"],
                         ["gdb", "unwatch", "delete"], ["run", "end", "debug_exit"],
                         ["mem", "screen", vga, 4000], ["eval", "cursor", "row * 80 + col"]]
                + steps + ([["mem", "s_screen", vga, 320]] if steps else []), "ex10")

    def line():
        m = re.search(r'Line (\d+) of "([^"]+)"', s["line"])
        if not m:
            raise Wrong("the watchpoint on the first cell never fired")
        return int(m.group(1))
    g.number("ex10.write_line", 2, line, "the console.c line whose store first writes cell 0 "
             "(step 3: GDB stops *after* the store; `info line *($pc - 1)`)")
    g.number("ex10.banner_attr", 2, lambda: reached(s, "end", "debug_exit") and
             bytes.fromhex(s["screen"])[1], "the attribute byte of cell 0 at the end (step 4)")
    g.number("ex10.cursor", 2, lambda: s["cursor"],
             "the cursor's cell index at debug_exit (step 5: row * 80 + col)")

    def first_char_of_row_1():
        learner_ran(g, s, "10-vga.gdb")
        row1 = bytes.fromhex(s["s_screen"])[160:320]
        final = bytes.fromhex(s["screen"])[160:320]
        if row1[0] in (0, 0x20) or row1[0] != final[0]:
            raise Wrong("lab/scripts/10-vga.gdb must stop once row 1, column 0 holds its character")
        if any(c not in (0, 0x20) for c in row1[2::2]):
            raise Wrong("the script stops too late: more of row 1 is already written")
    g.test("lab/scripts/10-vga.gdb stops at the first character of row 1", 3, first_char_of_row_1)


# ---- 11. Exceptions and the panic screen ------------------------------------------------

def panic(text):
    def field(pattern):
        m = re.search(pattern, text)
        if not m:
            raise Wrong(f"the FAULT=pf build did not print a panic screen (no {pattern!r})")
        return int(m.group(1), 16)
    return field


@exercise(11, "Exceptions: reading a panic screen")
def ex11(g):
    out = build(FAULT="pf")
    text = headless(out)
    g.logs.append("== ex11: the FAULT=pf build's debug console was read (%d lines); run "
                  "`make run-headless FAULT=pf` to see it" % len(text.splitlines()))
    field = panic(text)
    g.number("ex11.pf_cr2", 2, lambda: field(r"CR2 \(faulting address\): 0x([0-9a-f]+)"),
             "the faulting address on the FAULT=pf panic screen (step 2)")
    g.number("ex11.pf_error_code", 2, lambda: field(r"error code: 0x([0-9a-f]+)"),
             "the error code on the panic screen (step 2)")
    g.number("ex11.pf_rip", 2, lambda: field(r"RIP=0x([0-9a-f]+)"), "RIP on the panic screen")

    def where():
        rip = field(r"RIP=0x([0-9a-f]+)")
        loc = subprocess.check_output(["addr2line", "-e", str(out / "kernel.elf"), hex(rip)],
                                      text=True).strip()
        m = re.search(r"([^/]+:\d+)", loc)
        return [m.group(1), "kernel/" + m.group(1)] if m else []
    g.word("ex11.pf_line", 2, where, "FILE:LINE of the faulting instruction "
           "(step 3: `info line *RIP` with the FAULT=pf build's symbols)")

    # The challenge: leave idt_init before it loads the IDT, and go on.
    c = session(g, out, [["run", "idt", "idt_init"], ["gdb", "ret", "return"], ["cont", "after"],
                         ["gdb", "status", "monitor info status"]], "ex11-challenge")

    def status():
        reached(c, "idt", "idt_init")
        m = re.search(r"paused \((\w+)\)", c["status"])
        if not m:
            raise Wrong("the machine did not stop after `return` and `continue` "
                        "(monitor info status)")
        return m.group(1)
    g.word("ex11.status_without_idt", 0, status, "the word in parentheses of `monitor info "
           "status` after the fault without an IDT (challenge)", optional=True)


# ---- 12. QEMU and Bochs ------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def bochs_console(out):
    from .. import proc
    run = proc.run([sys.executable, "-m", "bootlab.bochs.run", "--image",
                    str(out / "bootlab.img")], 60, cwd=ROOT,
                   env=dict(os.environ, BOOTLAB_BUILD=str(out)))
    return run.output


@exercise(12, "The same boot in QEMU and in Bochs")
def ex12(g):
    out = build()
    qemu = headless(out)
    bochs = bochs_console(out)
    g.logs.append("== ex12: QEMU's debug console (%d lines) and a Bochs run (%d lines) were "
                  "read; `make run-headless` and `make run-bochs` show them"
                  % (len(qemu.splitlines()), len(bochs.splitlines())))

    def entries(text, who):
        m = re.search(r"E820 memory map, (\d+) entries", text)
        if not m:
            raise Wrong(f"the {who} run printed no memory map")
        return int(m.group(1))

    def usable(text, who):
        m = re.search(r"usable RAM: (\d+) KiB", text)
        if not m:
            raise Wrong(f"the {who} run printed no usable RAM line")
        return int(m.group(1))
    g.number("ex12.qemu_e820_entries", 1, lambda: entries(qemu, "QEMU"),
             "the number of E820 entries the kernel prints under QEMU (step 1)")
    g.number("ex12.bochs_e820_entries", 2, lambda: entries(bochs, "Bochs"),
             "the number of E820 entries the kernel prints under Bochs (step 2)")
    g.number("ex12.bochs_usable_kib", 2, lambda: usable(bochs, "Bochs"),
             "the usable RAM the kernel reports under Bochs (step 2)")
    sym = symbols(out)
    g.number("ex12.gdtr_base", 1, lambda: sym["gdt"],
             "GDTR's base as Bochs' `sreg` shows it at pm_entry (step 4)")


# ---- 13-18. Bug hunts ----------------------------------------------------------------------

def first_fault(out, g, tag):
    faults, log = interrupt_log(out)
    g.logs.append(f"== {tag}: QEMU's interrupt log was read ({len(faults)} exceptions); "
                  "lab/qemu-log.sh writes it for you to read")
    if not faults:
        raise Wrong("the bug build raised no exception at all")
    return faults[0], "Triple fault" in log


@exercise(13, "Bug hunt: BUG=gdt-limit")
def ex13(g):
    out = build(BUG="gdt-limit")
    sym = symbols(out)
    s = session(g, out, [["run", "pe", "pe_set"], ["mem", "jump", "$pc + 2", 8],
                         ["mem", "gdt", sym["gdt"], 8 * const("GDT_ENTRIES")]], "ex13")
    fault = {}

    def f():
        if not fault:
            fault.update(first_fault(out, g, "ex13")[0])
        return fault
    g.number("bug13.vector", 2, lambda: f()["v"], "the first exception's vector (v= in the "
             "-d int log, step 2)")
    g.number("bug13.error_code", 1, lambda: f()["e"], "its error code (e= in the log)")
    g.number("bug13.fault_address", 2, lambda: f()["pc"], "the linear address of the faulting "
             "instruction (pc= in the log; `info symbol` names it)")

    def selector():
        code = bytes.fromhex(s["jump"])
        if code[:2] != b"\x66\xea":
            raise Wrong("no far jump after pe_set")
        return u16(s["jump"], 6)
    g.number("bug13.selector", 1, selector, "the selector that far jump loads")
    g.number("bug13.limit_bytes", 2, lambda: descriptor(bytes.fromhex(s["gdt"])[selector():][:8])["bytes"],
             "the last valid offset (bytes, G applied) of that selector's segment (`bl gdt`)")


@exercise(14, "Bug hunt: BUG=lm-selector")
def ex14(g):
    out = build(BUG="lm-selector")
    s = session(g, out, [["run", "lm", "*" + str(const("KERNEL_ADDR"))],
                         ["gdb", "info", "monitor info registers"]], "ex14")
    fault = {}

    def f():
        if not fault:
            fault.update(first_fault(out, g, "ex14")[0])
        return fault
    g.number("bug14.cs_at_lm_entry", 2, lambda: reached(s, "lm", "lm_entry") and
             monitor_segment(s["info"], "CS")[0], "CS at lm_entry (step 2)")
    g.word("bug14.mode_at_lm_entry", 2, lambda: mode_name(s["info"]),
           "the mode `bl mode` names at lm_entry (one word)")
    g.number("bug14.vector", 1, lambda: f()["v"], "the first exception's vector (step 3)")
    g.number("bug14.cr2", 2, lambda: f()["cr2"], "CR2 of that exception (step 3)")


@exercise(15, "Bug hunt: BUG=no-pdpte")
def ex15(g):
    out = build(BUG="no-pdpte")
    s = session(g, out, [["run", "lme", "lme_set"]] + table_steps("t", 0), "ex15")
    fault = {}

    def f():
        if not fault:
            fault.update(first_fault(out, g, "ex15")[0])
        return fault
    g.number("bug15.vector", 1, lambda: f()["v"], "the first exception's vector (step 2)")
    g.number("bug15.cr2", 2, lambda: f()["cr2"], "the faulting address, CR2 (step 2)")
    g.number("bug15.pdpte", 2, lambda: reached(s, "lme", "lme_set") and s["t3"],
             "the PDPT entry a walk of any low address reads (step 3, by hand with `bl phys`)")

    def missing():
        names = {0: ["p", "present"], 1: ["rw", "r/w", "write", "writable"]}
        for bit in (0, 1):
            if not s["t3"] >> bit & 1:
                return names[bit]
        return []
    g.word("bug15.missing_flag", 2, missing, "the flag that entry lacks (its name in the SDM)")


@exercise(16, "Bug hunt: BUG=a20-reset")
def ex16(g):
    out = build(BUG="a20-reset")
    s = session(g, out, [["run", "a20", "enable_a20"], ["gdb", "in", "stepi 2"],
                         ["eval", "out_pc", "$pc"], ["eval", "al", "$al"], ["mem", "code", "$pc", 2],
                         ["cont", "after"], ["gdb", "status", "monitor info status"]], "ex16")
    port = const("PORT_A20_FAST")

    def out_pc():
        reached(s, "a20", "enable_a20")
        if bytes.fromhex(s["code"]) != bytes([0xe6, port]):
            raise Wrong("the bug's `out` is not two instructions into enable_a20")
        return s["out_pc"]
    g.number("bug16.out_address", 2, out_pc,
             "the address of the instruction after which the machine is gone (step 2)")
    g.number("bug16.value", 2, lambda: out_pc() and s["al"],
             "the byte that instruction writes to port 0x92 (step 3)")
    reset = const("A20_FAST_RESET")
    g.number("bug16.reset_bit", 1, lambda: reset.bit_length() - 1,
             "the bit number of port 0x92 that resets the CPU (bootlab.h)")

    def shut_down():
        if "shutdown" not in s["status"]:
            raise Wrong("the bug build did not end in a guest reset (monitor info status)")
    g.test("the bug build resets the machine", 1, shut_down)


@exercise(17, "Bug hunt: BUG=stage2-sectors")
def ex17(g):
    out = build(BUG="stage2-sectors")
    s = session(g, out, [["run", "rd", "read_disk"], ["eval", "cx", "$cx"],
                         ["run", "pm", "*" + str(const("PM32_ADDR"))], ["mem", "code", "$pc", 4]],
                "ex17")
    addr = const("STAGE2_ADDR")
    g.number("bug17.sectors_read", 2, lambda: reached(s, "rd", "read_disk") and s["cx"],
             "CX at the first call of read_disk (step 2)")
    g.number("bug17.sectors_needed", 1, lambda: const("STAGE2_SECTORS"),
             "how many sectors stage 2 occupies (bootlab.h, the image layout)")
    g.number("bug17.first_missing", 2, lambda: addr + s["cx"] * const("SECTOR_SIZE"),
             "the first address stage 2 needs that the read leaves unloaded (step 3)")
    g.number("bug17.word_at_pm_entry", 1, lambda: reached(s, "pm", "pm_entry") and u32(s["code"]),
             "the 32-bit word at pm_entry when the far jump arrives (step 4, `x/wx`)")


@exercise(18, "Bug hunt: BUG=vga-cell")
def ex18(g):
    bad, good = build(BUG="vga-cell"), build()
    vga = const("VGA_TEXT_ADDR")
    plan = [["run", "k", "kmain"], ["gdb", "w", f"watch *(short *){vga}"], ["cont", "wstop"],
            ["gdb", "where", "info symbol $pc"], ["gdb", "unwatch", "delete"],
            ["run", "end", "debug_exit"], ["mem", "cell", vga, 2]]
    s = session(g, bad, plan, "ex18")
    ok = session(g, good, plan[-2:], "ex18-default")
    g.number("bug18.cell0", 2, lambda: reached(s, "end", "debug_exit") and u16(s["cell"]),
             "the 16-bit word at 0xb8000 at debug_exit in the bug build (step 2)")
    g.number("bug18.good_cell0", 2, lambda: reached(ok, "end", "debug_exit") and u16(ok["cell"]),
             "the same word in the default build (step 3)")
    g.word("bug18.first_writer", 2, lambda: s["where"].split()[0],
           "the function that first writes cell 0 (step 4, the watchpoint)")


# ---- 19. Bug hunt with time travel -------------------------------------------------

def first_int(out, sym, routine, vector):
    """Linear address of the first `int vector` in a real-mode routine, found
    in the build's bytes (boot16.bin is loaded at the boot sector's address)."""
    base = const("BOOT_SECTOR_ADDR")
    code = (out / "boot16.bin").read_bytes()
    return base + code.index(bytes([0xcd, vector]), sym[routine] - base)


# Run inside GDB from the `int` instruction: single-step (into the BIOS)
# until the dword at ES:DI changes; the last instruction stepped is the
# writer. Stepping, not a watchpoint: a watchpoint stops *after* the write,
# and x86 code cannot be decoded backwards to find the instruction before.
WRITER_SCRIPT = """set bootlab context off
set $bl19_target = (unsigned int *) ($es * 16 + $di)
set $bl19_old = *$bl19_target
set $bl19_steps = 0
while *$bl19_target == $bl19_old && $bl19_steps < {limit}
  set $bl19_writer = $bl_pc()
  set $bl19_cs = $cs
  stepi
  set $bl19_steps = $bl19_steps + 1
end
"""
WRITER_STEP_LIMIT = 5000


@exercise(19, "Bug hunt: BUG=e820-stack (time travel)")
def ex19(g):
    out = build(BUG="e820-stack")
    sym = symbols(out)
    # At its first instruction, $sp is largest_usable's return-address slot.
    slot = "*(unsigned long long *)$bl19_slot"
    s = session(g, out, [["run", "entry", f"*{sym['largest_usable']}"], ["eval", "slot", "$sp"],
                         ["gdb", "mark", "set $bl19_slot = $sp"], ["eval", "ret", slot],
                         ["gdb", "watch", f"watch -l {slot}"], ["cont", "write"],
                         ["eval", "written", slot], ["eval", "index", "i"],
                         ["gdb", "unwatch", "delete"],
                         ["run", "panic", "exception_handler"], ["eval", "rip", "f->rip"]], "ex19")
    bios = {}

    def index():
        reached(s, "entry", "largest_usable")
        if s["written"] == s["ret"]:
            raise Wrong("nothing overwrote largest_usable's return address in the bug build")
        return s["index"]

    def writer(name):
        """From the (index+1)-th `int 0x15` of read_e820 (the one that
        returns that map entry), step to the BIOS instruction that writes it."""
        if not bios:
            skip = index()
            at = first_int(out, sym, "read_e820", const("BIOS_SYSTEM_INT"))
            script = out / "bug19-bios-writer.gdb"
            script.write_text(WRITER_SCRIPT.format(limit=WRITER_STEP_LIMIT))
            bios.update(facts=session(g, out, [
                ["gdb", "bp", f"hbreak *{at:#x}"], ["gdb", "skip", f"ignore $bpnum {skip}"],
                ["cont", "int"], ["eval", "pc", "$pc"], ["eval", "di", "$di"],
                ["gdb", "clear", "delete"], ["source", "step", str(script)],
                ["eval", "changed", "*$bl19_target != $bl19_old"],
                ["eval", "writer", "$bl19_writer"], ["eval", "cs", "$bl19_cs"]], "ex19-bios"))
        b = bios["facts"]
        if b["pc"] != first_int(out, sym, "read_e820", const("BIOS_SYSTEM_INT")):
            raise Wrong("the machine did not stop at read_e820's `int 0x15`")
        if name != "di" and (b["step"]["error"] or not b["changed"]):
            raise Wrong("stepping from that `int 0x15` never saw the map entry written")
        return b[name]

    g.number("bug19.fault_rip", 1, lambda: reached(s, "panic", "exception_handler") and s["rip"],
             "the RIP of the panic screen (step 1)")
    g.number("bug19.slot", 2, lambda: reached(s, "entry", "largest_usable") and s["slot"],
             "$sp at the `ret` that jumped to the bad address (step 2, `x/gx $sp`)")
    g.number("bug19.return_address", 2, lambda: reached(s, "entry", "largest_usable") and s["ret"],
             "what the slot held before the bad write: the watchpoint's `New value` going "
             "back (step 3)")
    g.number("bug19.index", 1, index, "`i` at the write the watchpoint stops on (step 3, `p i`)")
    g.number("bug19.bios_writer", 2, lambda: writer("writer"),
             "the linear address of the instruction that wrote the map entry (step 4: the "
             "context line's `linear`, or `p/x $bl_pc()`)")
    g.number("bug19.bios_cs", 1, lambda: writer("cs"), "CS at that instruction (step 4)")
    g.number("bug19.di_at_int", 1, lambda: writer("di"), "DI at the `int 0x15` (step 4, `p/x $di`)")


# ---- 20-22. More than one CPU (make SMP=2) ---------------------------------------------
# The SMP kernel on two CPUs, as the texts start it (`make debug SMP=2`),
# whatever SMP= `make grade` itself was given; exercise 21's challenge uses
# four. GDB's thread N is CPU N-1. `monitor info registers -a` gives every
# CPU's state (plain `info registers` shows the monitor's CPU, not GDB's
# thread). CPU 1 stops only at temporary breakpoints (the probe's `run`), as
# the texts advise: GDB never steps it over a breakpoint, the moment a late
# Start-Up IPI can take (lab/20, step 4).

LEARNER_CPUS, CHALLENGE_CPUS = 2, 4
CHALLENGE_VECTOR = 9   # exercise 20's challenge: the Start-Up IPIs name page 9
ICR_DM_SHIFT = 8        # the ICR's delivery mode is bits 10:8 (SDM Vol. 3A Figure 10-12)


def smp_build(**options):
    return build(SMP=LEARNER_CPUS, **options)


def cpu_regs(s, name, cpu):
    """CPU `cpu`'s registers (bootlab.qemu.monitor.Registers) from a probe's
    `monitor info registers -a`."""
    try:
        return {r.cpu: r for r in monitor.parse_all(s[name])}[cpu]
    except (monitor.MonitorError, KeyError):
        raise Wrong(f"the machine did not show CPU {cpu}'s registers")


def linear_pc(regs):
    """CS.base + IP (EIP or RIP) of one CPU."""
    return regs.segs["CS"].base + regs.values.get("RIP", regs.values.get("EIP", 0))


def bits_set(value):
    return [bit for bit in range(32) if value >> bit & 1]


def sipi_plan(out):
    """From the reset to the BSP's two lapic_send calls for CPU 1 (INIT,
    then the first Start-Up IPI), then on to CPU 1's first instruction.
    kmain first: a breakpoint on lapic_send resolved before the kernel is in
    memory would skip no prologue (lab/09), and read the arguments too early."""
    sym = symbols(out)
    return [["run", "k", f"*{sym['kmain']:#x}"],
            ["run", "init", "lapic_send"], ["eval", "icr_init", "icr_low"],
            ["run", "sipi", "lapic_send"], ["eval", "icr_sipi", "icr_low"],
            ["eval", "apic_id", "apic_id"], ["gdb", "up", "up"], ["eval", "vector", "vector"],
            ["gdb", "bp", "hbreak ap_start"], ["cont", "start"], ["eval", "thread", "$_thread"],
            ["eval", "pc", "$pc"], ["gdb", "regs", "monitor info registers -a"]]


@exercise(20, "The Start-Up IPI: where an AP starts")
def ex20(g):
    out = smp_build()
    s = session(g, out, sipi_plan(out), "ex20")

    def icr(name):
        reached(s, name, "lapic_send")
        return s["icr_" + name]

    def at_start():
        """The registers of the CPU that stopped at ap_start. GDB reports
        that stop as a bare SIGTRAP ($pc is the offset in CS, the breakpoint
        is on the linear address), so it is recognised by the linear address."""
        regs = cpu_regs(s, "regs", s["thread"] - 1)
        if linear_pc(regs) != symbols(out)["ap_start"]:
            raise Wrong("the machine did not stop at ap_start (how the session ended is in "
                        "the grader's notes)")
        return regs
    g.number("ex20.icr_init", 2, lambda: icr("init"),
             "`icr_low` in the BSP's first lapic_send call (step 2, `p/x icr_low`)")
    g.number("ex20.icr_sipi", 2, lambda: icr("sipi"),
             "`icr_low` in its second call, the first Start-Up IPI (step 3)")
    g.number("ex20.vector", 1, lambda: icr("sipi") & const("ICR_VECTOR_MASK"),
             "bits 7:0 of that ICR word, the Start-Up IPI's vector (step 3)")
    g.number("ex20.sipi_delivery_mode", 1, lambda: icr("sipi") >> ICR_DM_SHIFT & 7,
             "bits 10:8 of that ICR word, its delivery mode (step 3, x86.h ICR_DM_*)")
    g.number("ex20.cpu", 1, lambda: at_start().cpu,
             "the CPU that stops at ap_start (step 4: GDB's thread N is CPU N-1; `bl cpus`)")
    g.number("ex20.cs", 2, lambda: at_start().segs["CS"].selector,
             "CS of that CPU at ap_start (step 4, `bl seg`)")
    g.number("ex20.linear", 2, lambda: linear_pc(at_start()),
             "the linear address of its first instruction: CS.base + IP (step 4)")
    g.number("ex20.pc", 1, lambda: at_start() and s["pc"],
             "what GDB's `$pc` holds at that stop (step 4, `p $pc`)")

    # The challenge: both Start-Up IPIs with vector 9 (start_ap's `vector`
    # changed at the INIT); CPU 1's first instruction is then at page 9.
    other = CHALLENGE_VECTOR << const("SIPI_PAGE_SHIFT")
    c = session(g, out, sipi_plan(out)[:2] + [
        ["gdb", "up", "up"], ["gdb", "set", f"set var vector = {CHALLENGE_VECTOR}"],
        ["gdb", "clear", "delete"], ["gdb", "bp", f"hbreak *{other:#x}"], ["cont", "start"],
        ["eval", "thread", "$_thread"], ["gdb", "regs", "monitor info registers -a"]],
        "ex20-challenge")

    def cs_elsewhere():
        regs = cpu_regs(c, "regs", c["thread"] - 1)
        if linear_pc(regs) != other:
            raise Wrong("CPU 1 did not start at page 9 after `set var vector = 9`")
        return regs.segs["CS"].selector
    g.number("ex20.cs_vector_9", 0, cs_elsewhere, "CS at CPU 1's first instruction when "
             "start_ap's vector is 9 (challenge)", optional=True)


@exercise(21, "An AP's way to long mode: what it shares, what it must not")
def ex21(g):
    out = smp_build()
    s = session(g, out, [["run", "pm", "ap_pm_entry"], ["eval", "pm_thread", "$_thread"],
                         ["gdb", "pm_regs", "monitor info registers -a"],
                         ["run", "lm", "ap_lm_entry"], ["gdb", "lm_regs", "monitor info registers -a"],
                         ["run", "main", "*ap_main"], ["eval", "rsp", "$rsp"],
                         ["eval", "ret", "*(unsigned long long *)$rsp"],
                         ["gdb", "sym", "info symbol $rsp"],
                         ["gdb", "main_regs", "monitor info registers -a"],
                         ["gdb", "bsp", "thread 1"], ["gdb", "bsp_sym", "info symbol $rsp"]], "ex21")

    def ap(stop, name):
        reached(s, stop, {"pm": "ap_pm_entry", "lm": "ap_lm_entry", "main": "ap_main"}[stop])
        return cpu_regs(s, name, s["pm_thread"] - 1)

    def symbol(name):
        m = re.match(r"(\w+)", s[name])
        if not m or m.group(1) == "No":
            raise Wrong("no symbol covers that stack pointer")
        return m.group(1)
    g.number("ex21.gdtr_base", 1, lambda: ap("pm", "pm_regs").tables["GDT"][0],
             "GDTR's base on the AP at ap_pm_entry (step 1, `bl seg`)")
    g.number("ex21.idtr_limit_at_pm_entry", 2, lambda: ap("pm", "pm_regs").tables["IDT"][1],
             "IDTR's limit on the AP at ap_pm_entry (step 1)")
    g.number("ex21.cr0_at_pm_entry", 2, lambda: ap("pm", "pm_regs").values["CR0"],
             "CR0 on the AP at ap_pm_entry (step 1, `bl cr`)")
    g.number("ex21.cr3_at_lm_entry", 1, lambda: ap("lm", "lm_regs").values["CR3"],
             "CR3 on the AP at ap_lm_entry (step 3, `bl cr`)")
    g.number("ex21.cs_at_lm_entry", 1, lambda: ap("lm", "lm_regs").segs["CS"].selector,
             "CS on the AP at ap_lm_entry (step 3, `bl seg` or `p $cs`)")
    g.number("ex21.idtr_base_at_ap_main", 1, lambda: ap("main", "main_regs").tables["IDT"][0],
             "IDTR's base on the AP at ap_main (step 4, `bl seg`)")
    g.number("ex21.rsp_at_ap_main", 2, lambda: ap("main", "main_regs") and s["rsp"],
             "RSP at ap_main's very first instruction (step 4, `tbreak *ap_main`)")
    g.number("ex21.return_address", 1, lambda: s["ret"],
             "the 8 bytes on top of the AP's stack there (step 4, `x/gx $rsp`)")
    g.word("ex21.stack_symbol", 1, lambda: reached(s, "main", "ap_main") and symbol("sym"),
           "the symbol the AP's RSP points into (step 4, `info symbol $rsp`)")
    g.word("ex21.bsp_stack_symbol", 1, lambda: reached(s, "main", "ap_main") and symbol("bsp_sym"),
           "the symbol CPU 0's RSP points into at that stop (step 5, `thread 1`)")

    # The challenge: four CPUs; the stack CPU 3 gets.
    c = session(g, out, [["gdb", "bp", "hbreak *ap_main if $edi == 3"], ["cont", "c3"],
                         ["eval", "cpu", "$edi"], ["eval", "rsp", "$rsp + 8"]],
                "ex21-challenge", cpus=CHALLENGE_CPUS)

    def top3():
        if c["cpu"] != 3:
            raise Wrong("the machine did not stop at ap_main on CPU 3")
        return c["rsp"]
    g.number("ex21.cpu3_stack_top", 0, top3, "the top of CPU 3's stack, the value ap_lm_entry "
             "loads into RSP, with SMP=4 (challenge: a breakpoint condition on $edi)",
             optional=True)


@exercise(22, "Bug hunt: BUG=sipi-vector")
def ex22(g):
    bad, good = smp_build(BUG="sipi-vector"), smp_build()
    s = session(g, bad, sipi_plan(bad)[:8] + [
        ["gdb", "bp", "hbreak ap_start"], ["run", "end", "debug_exit"], ["eval", "status", "status"],
        ["gdb", "regs", "monitor info registers -a"]], "ex22")
    ok = session(g, good, sipi_plan(good), "ex22-default")
    text = headless(bad)
    g.logs.append("== ex22: the bug build's debug console was read (%d lines); run `make "
                  "run-headless SMP=2 BUG=sipi-vector` to see it" % len(text.splitlines()))

    def icr():
        reached(s, "sipi", "the second lapic_send")
        return s["icr_sipi"]

    def extra():
        reached(ok, "sipi", "the second lapic_send of the default SMP build")
        bits = bits_set(icr() & ~ok["icr_sipi"])
        if len(bits) != 1:
            raise Wrong("the bug build's Start-Up IPI does not differ from the right one "
                        "by one bit set too many")
        return bits[0]

    def mode():
        logical = const("ICR_DEST_LOGICAL")
        return ["logical"] if icr() & logical else ["physical"]

    def never_started():
        reached(s, "end", "debug_exit")
        return cpu_regs(s, "regs", 1)
    g.number("bug22.icr_sipi", 2, icr, "`icr_low` in the bug build's second lapic_send call "
             "(step 2)")
    g.number("bug22.vector_field", 1, lambda: icr() & const("ICR_VECTOR_MASK"),
             "bits 7:0 of that ICR word: the vector the AP would get (step 2)")
    g.number("bug22.extra_bit", 2, extra, "the ICR bit set in the bug build's Start-Up IPI and "
             "not in the right one (step 3: compare with exercise 20's word)")
    g.word("bug22.dest_mode", 1, mode, "the destination mode that bit asks for (step 3, "
           "x86.h, SDM Vol. 3A 10.6.1)")
    g.number("bug22.vector_variable", 1, lambda: reached(s, "sipi", "lapic_send") and s["vector"],
             "`vector` in start_ap's frame (step 4, `up`, `p/x vector`)")
    g.number("bug22.ap_pc", 2, lambda: linear_pc(never_started()),
             "the linear address CPU 1 is at when CPU 0 reaches debug_exit (step 5, `bl cpus`)")
    g.number("bug22.exit_status", 1, lambda: never_started() and s["status"],
             "the status the kernel hands debug_exit (step 5)")

    def reported():
        if "smp: cpu 1 (APIC id 1) not online" not in text:
            raise Wrong("the bug build's debug console does not report CPU 1 missing")
    g.test("the bug build reports CPU 1 missing", 1, reported)
