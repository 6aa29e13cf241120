"""Read what Bochs 2.7's debugger prints (no process needed).

Formats, as seen from Bochs 2.7 on Debian 12 (tests/test_bochs_parse.py
holds real samples):

  stop       (0) Magic breakpoint            | (0) Breakpoint 1, 0x...7c00 in ?? ()
             Next at t=16300061
             (0) [0x000000007c02] 0000:7c02 (boot_start+2): cli      ; fa
  mode       00016300073: switched from 'real mode' to 'protected mode'
             00016303164: address space switched. CR3: 0x000000001000
  creg       CR0=0xe0000011: PG CD NW ac wp ne ET ts em mp PE
             CR3=0x000000001000 / CR4=0x00000020: ... / EFER=0x00000500: ...
  sreg       cs:0x0008, dh=0x00cf9b00, dl=0x0000ffff, valid=1
             gdtr:base=0x0000000000007ce0, limit=0x27
  page       linear page 0x00000000000b8000 maps to physical page 0x0000000b8000

The bracketed address in a stop line is the physical address of the next
instruction; bootlab identity-maps everything it runs, so it is also the
linear address.
"""

import re

from .. import project, vga
from ..x86 import modes
from ..x86.sdm import DESC_L, DESC_DB

K = project.constants()
CR0_PE, CR0_PG, EFER_LMA = K["CR0_PE"], K["CR0_PG"], K["EFER_LMA"]
VGA_TEXT_ADDR = K["VGA_TEXT_ADDR"]
DEBUG_EXIT_SUCCESS = K["DEBUG_EXIT_SUCCESS"]

STOP_LINE = re.compile(
    r"^\((?P<cpu>\d+)\) \[0x(?P<phys>[0-9a-f]+)\] (?P<seg>[0-9a-f]{4}):(?P<off>[0-9a-f]+) "
    r"\((?P<sym>[^)]*)\): (?P<insn>.*?)\s*;\s*(?P<bytes>[0-9a-f]+)\s*$", re.M)
MODE_LINE = re.compile(r"^\d+: (switched from .*|address space switched.*)$", re.M)
BREAK_LINE = re.compile(r"^\(\d+\) (Magic breakpoint|Breakpoint \d+,.*|Caught .*)$", re.M)
DEBUGGER_LINE = re.compile(r"^(\(\d+\) |Next at t=|\d+: (switched|address space)|WARNING: )")

# sreg's dh= is the descriptor's high doubleword (SDM Vol. 3A 3.4.5), the
# same form as QEMU's flags: the core's mode decision reads both.


class ParseError(ValueError):
    pass


def parse_stop(text):
    """A `c`/`s` report -> dict(kind, addr, seg, off, sym, insn, modes,
    console, cpu). kind is 'magic', 'break' or 'other' (e.g. after SIGINT);
    console holds what the guest wrote to port 0xE9 meanwhile; cpu is the
    CPU that stopped (with `cpu: count=N` Bochs prints a line for each CPU
    after "Next at", "(0) [...", "(1) [...": the stop is that CPU's)."""
    b = BREAK_LINE.search(text)
    cpu = re.match(r"\((\d+)\)", b.group(0)).group(1) if b else "0"
    found = list(STOP_LINE.finditer(text))
    if not found:
        raise ParseError("no 'Next at' line in Bochs' output:\n" + text)
    # The last one (of that CPU) is where the CPU is now.
    m = ([f for f in found if f.group("cpu") == cpu] or found)[-1]
    kind = "other"
    if b and b.group(1) == "Magic breakpoint":
        kind = "magic"
    elif b and b.group(1).startswith("Breakpoint"):
        kind = "break"
    return {
        "kind": kind,
        "addr": int(m.group("phys"), 16),
        "seg": int(m.group("seg"), 16),
        "off": int(m.group("off"), 16),
        "sym": m.group("sym"),
        "insn": m.group("insn").strip(),
        "modes": MODE_LINE.findall(text),
        "console": console_text(text),
        "cpu": int(m.group("cpu")),
    }


def console_text(text):
    """Port 0xE9 bytes share Bochs' stdout with the debugger: keep the text
    that is not a debugger line. A console line without a newline can end
    right before a debugger line ("A(0) Magic breakpoint"): split there."""
    text = re.sub(r"(?<!\n)(\(\d+\) (Magic breakpoint|Breakpoint |\[0x))", r"\n\1", text)
    text = re.sub(r"(?<!\n)(Next at t=)", r"\n\1", text)
    keep = [line for line in text.split("\n") if not DEBUGGER_LINE.match(line)]
    return "\n".join(keep).strip("\n")


def _hex_field(pattern, text, what):
    m = re.search(pattern, text, re.M)
    if not m:
        raise ParseError(f"no {what} in Bochs' output:\n{text}")
    return int(m.group(1), 16)


def parse_creg(text):
    """creg -> {cr0, cr3, cr4, efer}."""
    return {
        "cr0": _hex_field(r"^CR0=0x([0-9a-f]+)", text, "CR0"),
        "cr3": _hex_field(r"^CR3=0x([0-9a-f]+)", text, "CR3"),
        "cr4": _hex_field(r"^CR4=0x([0-9a-f]+)", text, "CR4"),
        "efer": _hex_field(r"^EFER=0x([0-9a-f]+)", text, "EFER"),
    }


def parse_sreg(text):
    """sreg -> {cs, ds, ss, es, fs, gs: (selector, dh, dl), gdtr_base, gdtr_limit}."""
    out = {}
    for m in re.finditer(r"^(es|cs|ss|ds|fs|gs):0x([0-9a-f]+), dh=0x([0-9a-f]+), dl=0x([0-9a-f]+)",
                         text, re.M):
        out[m.group(1)] = tuple(int(g, 16) for g in m.group(2, 3, 4))
    for seg in ("cs", "ds", "ss"):
        if seg not in out:
            raise ParseError(f"no {seg} line in sreg output:\n{text}")
    m = re.search(r"^gdtr:base=0x([0-9a-f]+), limit=0x([0-9a-f]+)", text, re.M)
    if not m:
        raise ParseError("no gdtr line in sreg output:\n" + text)
    out["gdtr_base"], out["gdtr_limit"] = int(m.group(1), 16), int(m.group(2), 16)
    return out


def cs_mode(cr0, efer, cs_dh):
    """16, 32 or 64: how the CPU decodes code right now (the core's mode
    decision; EFLAGS.VM plays no part in the boot)."""
    return modes.decide(cr0, 0, efer, 0, cs_dh).bits


def state(creg_text, sreg_text):
    """The cross-check fields from creg + sreg output."""
    c, s = parse_creg(creg_text), parse_sreg(sreg_text)
    return {
        "cr0": c["cr0"], "cr3": c["cr3"], "cr4": c["cr4"], "efer": c["efer"],
        "cs": s["cs"][0], "ds": s["ds"][0], "ss": s["ss"][0],
        "cs_mode": cs_mode(c["cr0"], c["efer"], s["cs"][1]),
        "gdtr_base": s["gdtr_base"], "gdtr_limit": s["gdtr_limit"],
    }


def parse_rdi(text):
    """`r` ("rdi: 00000000_00000010") -> RDI, the first C argument in the SysV ABI."""
    m = re.search(r"^rdi: ([0-9a-f]{8})_([0-9a-f]{8})", text, re.M)
    if not m:
        raise ParseError("no rdi line in the output of r:\n" + text)
    return int(m.group(1) + m.group(2), 16)


# ---- The VGA text screen -----------------------------------------------------------

VGA_BYTES = vga.SCREEN_BYTES


def vga_lines(raw):
    """80x25 text lines from the frame buffer bytes (the core's decoder)."""
    return vga.lines(raw)


def render_screen(lines):
    return "\n".join(vga.boxed(lines))
