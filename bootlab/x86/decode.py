"""Decode x86 instructions in the mode the CPU is in, with capstone, and say
what each one may do to the CPU's mode.

Branch targets: capstone is given the instruction's offset in CS (its IP),
not its linear address, so a relative target comes out as the IP the CPU
goes to, wrapped as the CPU wraps it (addressing.py); the text then names
the linear address CS.base + that IP (and, in 16-bit code with CS.base not
0, the seg:off too). In 64-bit mode CS.base is 0 and the two are the same.
"""
import functools
import sys
import types

from .addressing import ip_of, linear, seg_off
from .sdm import X86_MAX_INSN


def _import_capstone():
    """Debian's capstone 4.0.2 imports three modules it never uses:
    `distutils.sysconfig` (with python3-setuptools installed, that loads
    setuptools and pkg_resources: ~150 ms), `ctypes.util` (~7 ms: it pulls
    in subprocess and tempfile) and `inspect` (~3 ms: consulted only when a
    module has no __file__). Empty stand-ins satisfy those imports while
    capstone loads; they are removed again afterwards, so any later import
    of those modules gets the real one. The GDB extension loads at every
    `make debug`, so these milliseconds are the user's."""
    import ctypes
    names = ("distutils", "distutils.sysconfig", "ctypes.util", "inspect")
    saved = {n: sys.modules.get(n) for n in names}
    had_util = hasattr(ctypes, "util")
    for n in names:
        sys.modules.setdefault(n, types.ModuleType(n))
    try:
        import capstone
        import capstone.x86_const
    finally:
        for n, module in saved.items():
            if module is None:
                sys.modules.pop(n, None)
        if not had_util and isinstance(getattr(ctypes, "util", None), types.ModuleType) \
                and not hasattr(ctypes.util, "find_library"):
            del ctypes.util     # the stand-in, bound as an attribute by `import ctypes.util`
    return capstone


capstone = _import_capstone()
X86 = capstone.x86_const

_UNKNOWN = object()      # an Insn's fact not worked out yet (None is an answer)
_MODES = {16: capstone.CS_MODE_16, 32: capstone.CS_MODE_32, 64: capstone.CS_MODE_64}
_decoders = {}

# What an instruction may do beyond its registers (SDM Vol. 2 and Vol. 3A
# chapters 5, 6, 9). FAR: loads CS from a descriptor or the IVT, so CS.base,
# CS.D and CS.L may change even when the selector number stays the same.
FAR = {X86.X86_INS_LJMP, X86.X86_INS_LCALL, X86.X86_INS_RETF, X86.X86_INS_RETFQ,
       X86.X86_INS_IRET, X86.X86_INS_IRETD, X86.X86_INS_IRETQ,
       X86.X86_INS_INT, X86.X86_INS_INT1, X86.X86_INS_INT3, X86.X86_INS_INTO,
       X86.X86_INS_SYSCALL, X86.X86_INS_SYSRET, X86.X86_INS_SYSENTER, X86.X86_INS_SYSEXIT,
       X86.X86_INS_RSM}
# Always fault (a #UD handler runs next).
FAULTS = {X86.X86_INS_UD2, X86.X86_INS_UD2B}
# Write a control register or an MSR: the mode or the paging mode may change.
CONTROL = {X86.X86_INS_LMSW, X86.X86_INS_CLTS, X86.X86_INS_WRMSR}
TABLES = {X86.X86_INS_LGDT, X86.X86_INS_LIDT, X86.X86_INS_LLDT, X86.X86_INS_LTR}
# Load a data or stack segment register from a descriptor (its hidden cache
# changes even when the selector's value does not).
SEG_LOADS = {X86.X86_INS_LDS, X86.X86_INS_LES, X86.X86_INS_LFS, X86.X86_INS_LGS, X86.X86_INS_LSS}
SEG_REGS = {X86.X86_REG_DS, X86.X86_REG_ES, X86.X86_REG_SS, X86.X86_REG_FS, X86.X86_REG_GS}
CR_REGS = {getattr(X86, "X86_REG_CR%d" % n) for n in range(16) if hasattr(X86, "X86_REG_CR%d" % n)}
STRING_OPS = ("movs", "stos", "lods", "scas", "cmps", "ins", "outs")


def decoder(bits, syntax="att"):
    """A capstone decoder for 16/32/64-bit code; syntax "att" or "intel"."""
    key = (bits, syntax)
    if key not in _decoders:
        md = capstone.Cs(capstone.CS_ARCH_X86, _MODES[bits])
        if syntax == "att":
            md.syntax = capstone.CS_OPT_SYNTAX_ATT
        md.detail = True
        _decoders[key] = md
    return _decoders[key]


class Insn:
    """One decoded instruction at a linear address, in a code segment."""

    def __init__(self, cs, address, selector, cs_base, bits):
        self.cs = cs                    # the capstone instruction (address = IP)
        self.address = address          # linear address
        self.ip = cs.address
        self.size = cs.size
        self.bytes = bytes(cs.bytes)
        self.mnemonic = cs.mnemonic
        self.op_str = cs.op_str
        self.selector, self.cs_base, self.bits = selector, cs_base, bits
        self._written = self._rep = None     # worked out on first use
        self._target = self._successors = _UNKNOWN

    # ---- what it is ----------------------------------------------------------
    @functools.cached_property
    def kind(self):
        """far, fault, cr, msr, table, sreg, int, hlt, rep, or '' for the rest
        (worked out once: an Insn is reused while its bytes stay, see decode)."""
        i = self.cs.id
        if i in (X86.X86_INS_INT, X86.X86_INS_INT1, X86.X86_INS_INT3, X86.X86_INS_INTO):
            return "int"
        if i in FAR:
            return "far"
        if i in FAULTS:
            return "fault"
        if i == X86.X86_INS_HLT:
            return "hlt"
        if i == X86.X86_INS_WRMSR:
            return "msr"
        if i in CONTROL or (i == X86.X86_INS_MOV and self.writes_cr()):
            return "cr"
        if i in TABLES:
            return "table"
        if i in SEG_LOADS or self.loads_sreg():
            return "sreg"
        if self.is_rep():
            return "rep"
        return ""

    def written_regs(self):
        """Registers it writes, whatever the syntax's operand order."""
        if self._written is None:
            self._written = frozenset(self.cs.regs_access()[1])
        return self._written

    def loads_sreg(self):
        """mov Sreg, r/m or pop Sreg (SDM Vol. 2B MOV, POP)."""
        if self.cs.id == X86.X86_INS_POP:    # one operand: no order to mind
            ops = self.cs.operands
            return len(ops) == 1 and ops[0].type == capstone.CS_OP_REG and ops[0].reg in SEG_REGS
        return self.cs.id == X86.X86_INS_MOV and bool(self.written_regs() & SEG_REGS)

    def writes_cr(self):
        return bool(self.written_regs() & CR_REGS)

    def is_rep(self):
        """A rep/repe/repne string instruction: one instruction, many
        iterations (a single step runs one iteration, SDM Vol. 2B "REP")."""
        if self._rep is None:
            words = self.mnemonic.split()
            self._rep = len(words) > 1 and words[0].startswith("rep") and \
                words[1].startswith(STRING_OPS)
        return self._rep

    def may_reload_cs(self):
        """Can executing it load CS (and so change CS.base, CS.D or CS.L)
        or change the mode, other than through the registers GDB sees?"""
        return self.kind in ("far", "int", "fault", "cr", "msr")

    def relative_target(self):
        """The IP a relative jump or call goes to, or None."""
        if self._target is not _UNKNOWN:
            return self._target
        self._target = self._relative_target()
        return self._target

    def _relative_target(self):
        if not self.cs.group(X86.X86_GRP_BRANCH_RELATIVE):
            return None
        ops = self.cs.operands
        if len(ops) == 1 and ops[0].type == capstone.CS_OP_IMM:
            return ops[0].imm & ((1 << self.bits) - 1)
        return None

    def successors(self):
        if self._successors is _UNKNOWN:
            self._successors = self._find_successors()
        return self._successors

    def _find_successors(self):
        """IPs where the CPU can be after it, when no exception interferes
        and CS is not reloaded: the next instruction and a relative branch's
        target (both, for a conditional one: jcc, loop, jcxz). None when the
        target comes from a register, memory or the stack."""
        nxt = (self.ip + self.size) & ((1 << self.bits) - 1)
        target = self.relative_target()
        if target is not None:
            unconditional = self.cs.id in (X86.X86_INS_JMP, X86.X86_INS_CALL)
            return frozenset({target} if unconditional else {target, nxt})
        group = self.cs.group
        if group(X86.X86_GRP_JUMP) or group(X86.X86_GRP_CALL) or group(X86.X86_GRP_RET):
            return None
        if self.is_rep():
            return frozenset({self.ip, nxt})    # one iteration, or the last
        return frozenset({nxt})

    # ---- how it reads ---------------------------------------------------------
    def target_linear(self):
        target = self.relative_target()
        return None if target is None else linear(self.cs_base, target, self.bits)

    def text(self, symbolize=None):
        """GDB's layout: the mnemonic padded to 6 columns, operands separated
        by bare commas; a relative target as its linear address (and seg:off
        in 16-bit code when CS.base is not 0), then ' <symbol+off>' from
        symbolize(linear) when given; RIP-relative operands get GDB's
        '# address <symbol>' note."""
        if not self.op_str:
            return self.mnemonic
        target = self.target_linear()
        if target is not None:
            ops = "0x%x" % target
            if self.bits == 16 and self.cs_base:
                ops += " (%s)" % seg_off(self.selector, self.relative_target(), 16)
            if symbolize:
                ops += symbolize(target)
            return "%-6s %s" % (self.mnemonic, ops)
        return "%-6s %s%s" % (self.mnemonic, self.op_str.replace(", ", ","),
                              self._rip_note(symbolize))

    def _rip_note(self, symbolize):
        for op in self.cs.operands:
            if op.type == capstone.CS_OP_MEM and op.mem.base == X86.X86_REG_RIP:
                target = (self.address + self.size + op.mem.disp) & 0xffffffffffffffff
                return "        # 0x%x%s" % (target, symbolize(target) if symbolize else "")
        return ""


_RECENT_MAX = 4096
_recent = {}     # (bits, syntax, IP, CS.base, selector) -> Insn decoded there lately


def decode(data, address, bits, selector=0, cs_base=0, count=1, syntax="att"):
    """Up to `count` instructions of data, which starts at the linear
    `address` in a code segment of `bits` with this CS.base; a list of Insn.

    Instructions decoded lately are reused when the bytes at their address
    are still the same (an instruction's decoding depends on its own bytes
    only): stepping shows the same few instructions again and again, and
    capstone's Python binding costs ~25 us each."""
    ip = ip_of(cs_base, address, bits)
    if ip is None:
        # Not reachable through CS as it is (real-mode code run under another
        # segment): decode it as the 64 KiB-aligned segment that holds it.
        cs_base = address & ~0xffff if bits == 16 else 0
        selector = cs_base >> 4 if bits == 16 else selector
        ip = address - cs_base
    out, offset = [], 0
    while len(out) < count and offset < len(data):
        key = (bits, syntax, ip, cs_base, selector)
        insn = _recent.get(key)
        if insn is None or not data.startswith(insn.bytes, offset):
            found = list(decoder(bits, syntax).disasm(data[offset:], ip, 1))
            if not found:
                break
            insn = Insn(found[0], linear(cs_base, ip, bits), selector, cs_base, bits)
            if len(_recent) >= _RECENT_MAX:
                _recent.clear()
            _recent[key] = insn
        out.append(insn)
        offset += insn.size
        ip += insn.size
    return out


def read_code(read, address, limit=X86_MAX_INSN):
    """Up to limit bytes at address; fewer at the end of readable memory.
    read(address, n) raises an exception (any) for unreadable memory."""
    try:
        return bytes(read(address, limit))
    except Exception:
        data = b""
        for i in range(limit):
            try:
                data += bytes(read(address + i, 1))
            except Exception:
                if not data:
                    raise
                break
        return data
