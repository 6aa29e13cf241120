"""What `make trace` shows about one instruction address, looked up once per
address and code segment (GDB side, used by tracer.py).

Decoding is the core's (bootlab.x86.decode: capstone in 16/32/64-bit mode,
relative to CS, GDB's layout); the symbol is GDB's own `<name+off>`, the
source line GDB's line table (NASM's and GCC's DWARF); kind is the core's
classification (far, int, cr, msr, table, hlt, rep, ...).
"""
import gdb

from ..x86 import decode


class Info:
    def __init__(self, insn, sal, symbol):
        self.insn = insn
        self.size = insn.size
        self.hex = insn.bytes.hex()
        self.asm = insn.text(lambda a: "")
        self.operand = insn.op_str
        self.addr_size = insn.cs.addr_size
        self.symbol = symbol
        self.file = sal.symtab.filename if sal and sal.symtab else None
        self.path = sal.symtab.fullname() if sal and sal.symtab else None
        self.line = sal.line if sal and sal.symtab else None
        self.kind = insn.kind

    def record(self):
        return dict(size=self.size, hex=self.hex, asm=self.asm, kind=self.kind,
                    sym=self.symbol, file=self.file, line=self.line, path=self.path)


class CodeCache:
    """Info per (linear address, code size, CS base); code does not change
    under us once it runs (the BIOS loaded it before the first instruction
    there)."""

    def __init__(self):
        self.cache = {}

    def at(self, state):
        m = state.mode
        key = (state.pc_linear, m.bits, state.cs.base)
        if key not in self.cache:
            self.cache[key] = self._look_up(state)
        return self.cache[key]

    @staticmethod
    def _look_up(state):
        lin, m = state.pc_linear, state.mode
        # Raw steps never tell GDB the guest ran: its cached memory may be old.
        gdb.execute("maint flush dcache", to_string=True)
        inf = gdb.selected_inferior()
        data = decode.read_code(lambda a, n: inf.read_memory(a, n), lin)
        insns = decode.decode(data, lin, m.bits, state.cs.selector, state.cs.base,
                              syntax="intel")
        if not insns:
            raise gdb.GdbError("cannot decode the instruction at 0x%x (%s)" % (lin, data.hex()))
        text = gdb.format_address(lin)
        symbol = text[text.find("<") + 1:-1] if "<" in text else ""
        return Info(insns[0], gdb.find_pc_line(lin), symbol)


def addresses(names):
    """{name: linear address} of those of names that are symbols."""
    found = {}
    for name in names:
        try:
            found[name] = int(gdb.parse_and_eval("(long)&%s" % name))
        except gdb.error:
            pass
    return found
