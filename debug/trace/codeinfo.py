# codeinfo.py: what `make trace` shows about one instruction address, looked
# up once per address and CPU mode (GDB side, used by collect.py).
#
# Decoding is the extension's (bootlab/disasm.py: capstone in 16/32/64-bit
# mode, GDB's layout); the symbol is GDB's own `<name+off>`, the source line
# GDB's line table (NASM's and GCC's DWARF). kind sorts out the instructions
# the tracer treats specially or the listing highlights.
import os
import sys

import gdb

from bootlab import disasm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bochs"))
import milestones  # noqa: E402  (debug/bochs/milestones.py: the transitions, in order)

REP_PREFIXES = ("rep ", "repe ", "repne ", "repz ", "repnz ")
# SDM Vol. 2: instructions that load an MSR, a descriptor-table register,
# or CS (far transfers; capstone spells far jmp/call ljmp/lcall).
KINDS = {"int": "int", "hlt": "hlt", "lgdt": "table", "lidt": "table",
         "wrmsr": "msr", "ljmp": "far", "lcall": "far", "retf": "far", "iret": "far",
         "iretd": "far", "iretq": "far"}


class Info:
    def __init__(self, insn, data, sal, symbol):
        self.size = insn.size
        self.hex = data[:insn.size].hex()
        self.asm = disasm.format_insn(insn)
        self.mnemonic = insn.mnemonic
        self.operand = insn.op_str
        self.addr_size = insn.addr_size
        self.symbol = symbol
        self.file = sal.symtab.filename if sal and sal.symtab else None
        self.path = sal.symtab.fullname() if sal and sal.symtab else None
        self.line = sal.line if sal and sal.symtab else None
        self.kind = self._kind(insn)

    @staticmethod
    def _kind(insn):
        m = insn.mnemonic
        if m.startswith(REP_PREFIXES):
            return "rep"
        if m == "mov" and insn.op_str.startswith("cr"):
            return "cr"                       # mov crN, reg (SDM Vol. 2B MOV-Control Registers)
        return KINDS.get(m, "")

    def record(self):
        return dict(size=self.size, hex=self.hex, asm=self.asm, kind=self.kind,
                    sym=self.symbol, file=self.file, line=self.line, path=self.path)


class CodeCache:
    """Info per (linear address, code size); code does not change under us
    once it runs (the BIOS loaded it before the first instruction there)."""

    def __init__(self):
        self.cache = {}

    def at(self, lin, bits):
        key = (lin, bits)
        if key not in self.cache:
            self.cache[key] = self._look_up(lin, bits)
        return self.cache[key]

    @staticmethod
    def _look_up(lin, bits):
        # Raw steps never tell GDB the guest ran: its cached memory may be old.
        gdb.execute("maint flush dcache", to_string=True)
        inf = gdb.selected_inferior()
        data = disasm.read_code(lambda n, a: inf.read_memory(a, n), lin)
        insns = disasm.decode(data, lin, bits)
        if not insns:
            raise gdb.GdbError("cannot decode the instruction at 0x%x (%s)" % (lin, data.hex()))
        text = gdb.format_address(lin)
        symbol = text[text.find("<") + 1:-1] if "<" in text else ""
        return Info(insns[0], data, gdb.find_pc_line(lin), symbol)


def transition_addresses():
    """{name: linear address} of the boot's transition symbols that exist."""
    found = {}
    for name in milestones.NAMES:
        try:
            found[name] = int(gdb.parse_and_eval("(long)&%s" % name))
        except gdb.error:
            pass
    return found
