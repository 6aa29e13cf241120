# listing.py: turns collect.py's records into the annotated listing of
# `make trace` (host side, no GDB needed).
#
# Line kinds, each recognisable by its start so a reader (or grep) can pick
# them out:
#   "---- "   a stage heading: a transition symbol is reached
#   "== "     a mode change, and the end of the trace
#   digits    one instruction: number, mode, CS:IP, linear, symbol, code, source
#   "   ! "   what a highlighted instruction changed (CRn, EFER, CS, GDTR/IDTR)
#   "   >> "  a BIOS call: the service, its answer, how many instructions
import re
from pathlib import Path

WIDTH = 200          # the source text is cut to keep a line within this
MODE_TAGS = {"real": "real", "protected (16-bit)": "prot16", "protected (32-bit)": "prot32",
             "compatibility (16-bit)": "compat16", "compatibility (32-bit)": "compat32",
             "64-bit": "long64", "virtual-8086": "v86"}
LEGEND = """\
Columns: instruction number, CPU mode, CS:IP, linear address, symbol+offset,
the instruction (decoded in that mode, Intel syntax), source file:line and text.
Modes: real; prot16/prot32 = protected mode running a 16-/32-bit code segment;
compat32 = long mode active but CS still 32-bit (compatibility mode);
long64 = 64-bit mode. Marks: "!" a control register, EFER, CS, GDTR or IDTR
changed; ">>" a BIOS call; "==" a mode change; "----" a transition symbol."""
HIGHLIGHT = ("cr", "msr", "table", "far")


def mode_tag(name):
    return MODE_TAGS.get(name, name)


def cs_ip(rec):
    digits = 4 if rec["bits"] == 16 else 8 if rec["ip"] >> 32 == 0 else 16
    return "%04x:%0*x" % (rec["cs"], digits, rec["ip"])


class Sources:
    """Source lines by (path, line), each file read once."""

    def __init__(self):
        self.files = {}

    def text(self, rec):
        path = rec.get("path")
        if not path or not rec.get("line"):
            return ""
        if path not in self.files:
            try:
                self.files[path] = Path(path).read_text(errors="replace").splitlines()
            except OSError:
                self.files[path] = []
        lines = self.files[path]
        return " ".join(lines[rec["line"] - 1].split()) if rec["line"] <= len(lines) else ""


def insn_line(rec, sources):
    where = "%s:%d" % (rec["file"], rec["line"]) if rec.get("file") else ""
    text = "%6d %-8s %-13s %08x  %-28s %-34s %s  %s" % (
        rec["n"], mode_tag(rec["mode"]), cs_ip(rec), rec["lin"], rec["sym"][:28],
        rec["asm"], where, sources.text(rec))
    return text.rstrip()[:WIDTH]


def notes(rec):
    """The '!' lines under an instruction that changed what decides the mode."""
    out = []
    changed = rec.get("changed", {})
    if rec["kind"] == "far" and "cs" not in changed:
        out.append("CS 0x%04x reloaded (far transfer, same selector)" % rec["cs"])
    for reg, (old, new, bits) in changed.items():
        if reg == "cs":
            out.append("CS 0x%04x -> 0x%04x (far transfer: new code segment)" % (old, new))
        else:
            named = " (%s)" % bits if bits else ""
            out.append("%s 0x%x -> 0x%x%s" % (reg.upper(), old, new, named))
    for table, (base, limit) in rec.get("tables", {}).items():
        if rec["asm"].startswith("l" + table.lower()):
            out.append("%sR = base 0x%x, limit 0x%x (%d bytes)" % (table, base, limit, limit + 1))
    if rec.get("unfinished"):
        out.append("the CPU did not finish this instruction")
    if "iterations" in rec:
        out.append("%d iterations, run at full speed" % rec["iterations"])
    return out


def mode_banner(old, new):
    """'== real -> protected (16-bit) ==' (and the paging mode when it changes)."""
    parts = []
    if old[0] != new[0]:
        parts.append("%s -> %s" % (old[0], new[0]))
    if old[1] != new[1]:
        parts.append("paging %s -> %s" % (old[1], new[1]))
    return "== %s ==" % ", ".join(parts)


def stage_heading(index, total, name, meaning, rec):
    return "---- [%d/%d] %s  (%s, paging %s): %s" % (
        index, total, name, rec["mode"], rec["paging"], meaning)


def bios_line(call, describer):
    count = "?" if call.get("count") is None else "%d" % call["count"]
    how = "stepped above" if call.get("shown") else "at full speed"
    return "   >> BIOS %s -> %s; %s BIOS instructions, %.1f ms %s" % (
        describer.service(call), describer.result(call), count, call["seconds"] * 1000, how)


# What differs from one run of the same image to the next: host times, and
# the BIOS's instruction counts (timer interrupts come at other moments).
VARIES = [(re.compile(r"\d+(\.\d+)? ms\b"), "<ms>"),
          (re.compile(r"\d+ BIOS instructions"), "<n> BIOS instructions"),
          (re.compile(r" +\d+(\+\?)? +<ms>$"), " <n> <ms>")]   # a summary row's last columns


def stable(line):
    """The line with the parts that vary between runs masked, for comparing."""
    for pattern, mask in VARIES:
        line = pattern.sub(mask, line)
    return line.rstrip()
