"""Which mode is the CPU in? Decided from CPU state alone (SDM 2.2, Figure 2-3):

  CR0.PE = 0                           real mode
  EFLAGS.VM = 1                        virtual-8086 mode
  EFER.LMA = 1 and CS.L = 1            64-bit mode              (SDM 5.2.1)
  EFER.LMA = 1 and CS.L = 0            compatibility mode, CS.D picks 16/32
  otherwise                            protected mode, CS.D picks 16/32-bit

CS.D and CS.L live in CS's hidden descriptor cache, not in the selector.
Loading CR0 with PE=1 does not reload CS, so right after `mov cr0` the CPU
runs 16-bit protected-mode code until a far jump (SDM 9.9.1); and a far jump
that loads the *same* selector number from a new GDT can change CS.L.

Paging mode (SDM 4.1.1, Table 4-1): CR0.PG=0 off; CR4.PAE=0 32-bit;
EFER.LMA=0 PAE; CR4.LA57=0 4-level, else 5-level.
"""
from .sdm import (CR0_PE, CR0_PG, CR4_PAE, CR4_LA57, EFER_LMA, EFLAGS_VM,
                  DESC_L, DESC_DB)

REAL, PROTECTED, V86 = "real", "protected", "virtual-8086"
COMPAT, LONG64 = "compatibility", "64-bit"


class Mode:
    """A CPU mode and a paging mode; equal when both are the same."""

    def __init__(self, cpu, bits, paging):
        self.cpu = cpu          # "real", "protected", "virtual-8086", ...
        self.bits = bits        # default code size: 16, 32 or 64
        self.paging = paging    # "off", "32-bit", "PAE", "4-level", "5-level"

    @property
    def name(self):
        """'protected (32-bit)', 'compatibility (16-bit)', 'real', '64-bit'."""
        if self.cpu in (PROTECTED, COMPAT):
            return "%s (%d-bit)" % (self.cpu, self.bits)
        return self.cpu

    @property
    def long(self):
        """IA-32e mode (EFER.LMA=1): 64-bit or compatibility mode."""
        return self.cpu in (LONG64, COMPAT)

    def __eq__(self, other):
        # The same object most of the time: a state after a step that kept the
        # monitor's view carries its Mode on (cpu.CpuState.successor).
        return self is other or isinstance(other, Mode) and (self.cpu, self.bits, self.paging) \
            == (other.cpu, other.bits, other.paging)

    def __hash__(self):
        return hash((self.cpu, self.bits, self.paging))

    def __repr__(self):
        return "Mode(%r, %d, %r)" % (self.cpu, self.bits, self.paging)

    def __str__(self):
        return "%s, paging %s" % (self.name, self.paging)


def paging_mode(cr0, cr4, efer):
    if not cr0 & CR0_PG:
        return "off"
    if not cr4 & CR4_PAE:
        return "32-bit"
    if not efer & EFER_LMA:
        return "PAE"
    return "5-level" if cr4 & CR4_LA57 else "4-level"


def decide(cr0, cr4, efer, eflags, cs_flags):
    """The Mode for these register values. cs_flags is CS's hidden
    attributes: the descriptor's high doubleword (QEMU's `info registers`
    prints exactly that)."""
    if not cr0 & CR0_PE:
        cpu, bits = REAL, 16
    elif eflags & EFLAGS_VM:
        cpu, bits = V86, 16
    elif efer & EFER_LMA:
        if cs_flags & DESC_L:
            cpu, bits = LONG64, 64
        else:
            cpu, bits = COMPAT, 32 if cs_flags & DESC_DB else 16
    else:
        cpu, bits = PROTECTED, 32 if cs_flags & DESC_DB else 16
    return Mode(cpu, bits, paging_mode(cr0, cr4, efer))


def why(cr0, cr4, efer, eflags, cs_flags):
    """The bits decide() looked at, as `bl mode` shows them."""
    return ("CR0.PE=%d CR0.PG=%d CR4.PAE=%d EFER.LMA=%d EFLAGS.VM=%d CS.L=%d CS.D=%d" % (
        bool(cr0 & CR0_PE), bool(cr0 & CR0_PG), bool(cr4 & CR4_PAE), bool(efer & EFER_LMA),
        bool(eflags & EFLAGS_VM), bool(cs_flags & DESC_L), bool(cs_flags & DESC_DB)))
