"""Disassemble in the CPU's current mode.

QEMU's gdbstub describes an x86-64 CPU in every mode, so GDB alone decodes
real-mode and 32-bit code as 64-bit code, and `set architecture i8086` is
refused once connected. Instead this module registers a GDB 13 Python
disassembler (gdb.disassembler) for the x86 architectures. It decodes with
the core (bootlab.x86.decode: capstone in the mode of the selected CPU,
branch targets relative to CS:IP), so `x/i`, `display/i`, `disassemble` and
the stop line all agree with the CPU. GDB's own register layout is
untouched, so register reads and writes stay right.

`set bootlab disasm-mode 16|32|64` forces a size, e.g. to read 64-bit kernel
code while the CPU is still in real mode; `auto` follows the CPU.
"""
import gdb
import gdb.disassembler

from ..x86 import decode
from . import snapshot, target
from .command import BlParameter

ARCHITECTURES = ("i386:x86-64", "i386", "i8086", "i386:intel", "i386:x86-64:intel")


def syntax():
    return "intel" if gdb.parameter("disassembly-flavor") == "intel" else "att"


def segment():
    """(bits, selector, CS.base) to decode with, or None to leave it to GDB."""
    forced = DisasmMode.forced
    if not target.is_live():
        return (forced, 0, 0) if forced else None
    st = snapshot.current().state
    if forced:
        return forced, st.cs.selector, st.cs.base if forced == st.mode.bits else 0
    return st.mode.bits, st.cs.selector, st.cs.base


class ModeDisassembler(gdb.disassembler.Disassembler):
    def __init__(self):
        super().__init__("bootlab")

    def __call__(self, info):
        seg = segment()
        if seg is None:
            return None   # no live CPU to ask: GDB's builtin decoder
        bits, selector, base = seg
        data = decode.read_code(lambda a, n: info.read_memory(n, a - info.address), info.address)
        insns = decode.decode(data, info.address, bits, selector, base, syntax=syntax())
        if not insns:
            return gdb.disassembler.DisassemblerResult(1, "(bad)")
        insn = insns[0]
        return gdb.disassembler.DisassemblerResult(insn.size, insn.text(target.format_address))


class DisasmMode(BlParameter):
    """Code size used to disassemble: auto (follow the CPU), 16, 32 or 64."""
    NAME = "disasm-mode"
    forced = None

    def __init__(self):
        super().__init__(gdb.PARAM_ENUM, ["auto", "16", "32", "64"])
        self.value = "auto"

    def get_set_string(self):
        DisasmMode.forced = None if self.value == "auto" else int(self.value)
        return ""


def register():
    d = ModeDisassembler()
    for arch in ARCHITECTURES:
        gdb.disassembler.register_disassembler(d, arch)
