"""Disassemble in the CPU's current mode.

QEMU's gdbstub describes an x86-64 CPU in every mode, so GDB alone decodes
real-mode and 32-bit code as 64-bit code, and `set architecture i8086` is
refused once connected. Instead this module registers a GDB 13 Python
disassembler (gdb.disassembler) for the x86 architectures. It decodes each
instruction with capstone in the mode the CPU is in, so `x/i`, `display/i`,
`disassemble` and the stop line all agree with the CPU. GDB's own register
layout is untouched, so register reads and writes stay right.

`set bootlab disasm-mode 16|32|64` forces a size, e.g. to read 64-bit kernel
code while the CPU is still in real mode; `auto` follows the CPU.
"""
import capstone
import gdb
import gdb.disassembler

from . import state
from .command import BlParameter

X86_MAX_INSN = 15   # longest x86 instruction, SDM Vol. 2A 2.3.11

_CS_MODES = {16: capstone.CS_MODE_16, 32: capstone.CS_MODE_32, 64: capstone.CS_MODE_64}
_decoders = {}
_bits_cache = None   # code size for the current stop, cleared when it runs


def invalidate(*_):
    global _bits_cache
    _bits_cache = None


def decoder(bits, syntax=None):
    """A capstone decoder for 16/32/64-bit code in GDB's disassembly flavour."""
    syntax = syntax or gdb.parameter("disassembly-flavor")
    key = (bits, syntax)
    if key not in _decoders:
        md = capstone.Cs(capstone.CS_ARCH_X86, _CS_MODES[bits])
        if syntax == "att":
            md.syntax = capstone.CS_OPT_SYNTAX_ATT
        md.detail = True
        _decoders[key] = md
    return _decoders[key]


def code_bits():
    """Code size to decode with, or None to leave it to GDB's own decoder."""
    global _bits_cache
    forced = DisasmMode.forced
    if forced:
        return forced
    if _bits_cache is None:
        if not state.is_live():
            return None
        from . import mode
        _bits_cache = mode.current().bits
    return _bits_cache


def _target_note(insn):
    """' <symbol+off>' for a direct jump or call, as GDB's decoder shows."""
    if not (insn.group(capstone.CS_GRP_JUMP) or insn.group(capstone.CS_GRP_CALL)):
        return ""
    ops = insn.operands
    if len(ops) != 1 or ops[0].type != capstone.x86.X86_OP_IMM:
        return ""
    text = gdb.format_address(ops[0].imm & 0xffffffffffffffff)
    i = text.find(" <")
    return text[i:] if i >= 0 else ""


def _rip_note(insn):
    """'        # 0x7ff0 <gdt>' for a RIP-relative operand, as GDB's decoder
    shows: the address is the next instruction's plus the displacement."""
    for op in insn.operands:
        if op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP:
            target = (insn.address + insn.size + op.mem.disp) & 0xffffffffffffffff
            return "        # " + gdb.format_address(target)
    return ""


def format_insn(insn):
    """GDB's layout: the mnemonic padded to 6 columns, then the operands
    separated by bare commas."""
    if not insn.op_str:
        return insn.mnemonic
    return ("%-6s %s" % (insn.mnemonic, insn.op_str.replace(", ", ","))
            + _target_note(insn) + _rip_note(insn))


def decode(data, address, bits, count=1):
    """Decode up to `count` instructions of `data`; a list of capstone insns."""
    return list(decoder(bits).disasm(data, address, count))


def read_code(read, address):
    """Up to 15 bytes at address; fewer at the end of readable memory."""
    try:
        return bytes(read(X86_MAX_INSN, address))
    except gdb.MemoryError:
        data = b""
        for i in range(X86_MAX_INSN):
            try:
                data += bytes(read(1, address + i))
            except gdb.MemoryError:
                if not data:
                    raise
                break
        return data


class ModeDisassembler(gdb.disassembler.Disassembler):
    def __init__(self):
        super().__init__("bootlab")

    def __call__(self, info):
        bits = code_bits()
        if bits is None:
            return None   # no live CPU to ask: GDB's builtin decoder
        data = read_code(lambda n, a: info.read_memory(n, a - info.address), info.address)
        insns = decode(data, info.address, bits)
        if not insns:
            return gdb.disassembler.DisassemblerResult(1, "(bad)")
        insn = insns[0]
        return gdb.disassembler.DisassemblerResult(insn.size, format_insn(insn))


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


ARCHITECTURES = ("i386:x86-64", "i386", "i8086", "i386:intel", "i386:x86-64:intel")


def register():
    d = ModeDisassembler()
    for arch in ARCHITECTURES:
        gdb.disassembler.register_disassembler(d, arch)
