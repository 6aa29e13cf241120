"""Which mode is the CPU in? Decided from CPU state alone (SDM 2.2, Figure 2-3):

  CR0.PE = 0                           real mode
  EFLAGS.VM = 1                        virtual-8086 mode
  EFER.LMA = 1 and CS.L = 1            64-bit mode              (SDM 5.2.1)
  EFER.LMA = 1 and CS.L = 0            compatibility mode, CS.D picks 16/32
  otherwise                            protected mode, CS.D picks 16/32-bit

CS.D and CS.L live in the hidden descriptor cache, which only QEMU's monitor
shows. Loading CR0 with PE=1 does not reload CS, so right after `mov cr0`
the CPU runs 16-bit protected-mode code until the far jump (SDM 9.9.1).

Paging mode (SDM 4.1.1, Table 4-1): CR0.PG=0 off; CR4.PAE=0 32-bit;
EFER.LMA=0 PAE; CR4.LA57=0 4-level, else 5-level.
"""
import time

import gdb

from . import rawstep, replay, state
from .command import BlCommand, BlParameter
from .sdm import (CR0_PE, CR0_PG, CR4_PAE, CR4_LA57, EFER_LMA, EFLAGS_VM,
                  DESC_L, DESC_DB)

OPCODE_HLT = 0xf4   # SDM Vol. 2A, HLT


class Mode:
    def __init__(self, cpu, bits, paging):
        self.cpu = cpu          # "real", "protected", "virtual-8086", ...
        self.bits = bits        # default code size: 16, 32 or 64
        self.paging = paging    # "off", "32-bit", "PAE", "4-level", "5-level"

    @property
    def name(self):
        if self.cpu in ("protected", "compatibility"):
            return "%s (%d-bit)" % (self.cpu, self.bits)
        return self.cpu

    def __eq__(self, other):
        return isinstance(other, Mode) and (self.cpu, self.bits, self.paging) == \
            (other.cpu, other.bits, other.paging)

    def __str__(self):
        return "%s, paging %s" % (self.name, self.paging)


def decide(cr0, cr4, efer, eflags, cs_flags):
    """The Mode for these register values; pure, so tests can call it."""
    if not cr0 & CR0_PE:
        cpu, bits = "real", 16
    elif eflags & EFLAGS_VM:
        cpu, bits = "virtual-8086", 16
    elif efer & EFER_LMA:
        if cs_flags & DESC_L:
            cpu, bits = "64-bit", 64
        else:
            cpu, bits = "compatibility", 32 if cs_flags & DESC_DB else 16
    else:
        cpu, bits = "protected", 32 if cs_flags & DESC_DB else 16
    if not cr0 & CR0_PG:
        paging = "off"
    elif not cr4 & CR4_PAE:
        paging = "32-bit"
    elif not efer & EFER_LMA:
        paging = "PAE"
    else:
        paging = "5-level" if cr4 & CR4_LA57 else "4-level"
    return Mode(cpu, bits, paging)


def _regs():
    return state.regs("cr0", "cr4", "efer", "eflags")


def current():
    """The Mode the CPU is in now (needs a live target)."""
    cr0, cr4, efer, eflags = _regs()
    return decide(cr0, cr4, efer, eflags, state.seg("CS").flags)


def linear_pc():
    """CS.base + IP/EIP/RIP: where the CPU really fetches from."""
    return (state.seg("CS").base + state.reg("pc")) & 0xffffffffffffffff


def format_pc(mode=None):
    """'07c0:0005 (linear 0x7c05)' in real and virtual-8086 mode,
    'cs:eip' plus the linear address when CS.base is not 0, else the address."""
    mode = mode or current()
    cs = state.seg("CS")
    ip = state.reg("pc")
    lin = (cs.base + ip) & 0xffffffffffffffff
    if mode.bits == 16:
        return "%04x:%04x (linear 0x%x)" % (cs.selector, ip & 0xffff, lin)
    if cs.base and mode.bits == 32:
        return "%04x:%08x (linear 0x%x)" % (cs.selector, ip & 0xffffffff, lin)
    return "0x%x" % lin


# ---- Tracking: one line whenever the mode changes -------------------------------

_last = None
quiet = 0   # > 0 while bootlab itself is stepping: no messages, no context


def check_change(announce=True):
    """Compare the mode with the one seen at the previous stop; print a line
    for each change. Returns (old, new)."""
    global _last
    new = current()
    old, _last = _last, new
    if announce and Messages.value:
        # Under replay, a change seen while going back is the transition
        # undone: say so, or "64-bit -> real" reads like a mode switch.
        back = " (going back)" if replay.direction == "back" else ""
        if old is None:
            print("bootlab: mode %s" % new)
        else:
            if old.name != new.name:
                print("bootlab: mode %s -> %s%s" % (old.name, new.name, back))
            if old.paging != new.paging:
                print("bootlab: paging %s -> %s%s" % (old.paging, new.paging, back))
    return old, new


def forget(*_):
    global _last
    _last = None


class Messages(BlParameter):
    """Print one line when the CPU mode or paging mode changes."""
    NAME = "mode-messages"
    value = True

    def __init__(self):
        super().__init__(gdb.PARAM_BOOLEAN)
        self.value = True
        Messages.value = True

    def get_set_string(self):
        Messages.value = self.value
        return ""


class ModeCommand(BlCommand):
    """Show the CPU mode and paging mode, and the bits that decide them.
Usage: bl mode
Show the CPU mode (real, protected (16/32-bit), virtual-8086, compatibility,
64-bit), the paging mode, and the bits that decide them."""
    NAME = "mode"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        m = current()
        cr0, cr4, efer, eflags = _regs()
        cs = state.seg("CS")
        print("mode:   %s" % m.name)
        print("paging: %s" % m.paging)
        print("at:     %s" % format_pc(m))
        print("why:    CR0.PE=%d CR0.PG=%d CR4.PAE=%d EFER.LMA=%d EFLAGS.VM=%d "
              "CS.L=%d CS.D=%d" % (
                  bool(cr0 & CR0_PE), bool(cr0 & CR0_PG), bool(cr4 & CR4_PAE),
                  bool(efer & EFER_LMA), bool(eflags & EFLAGS_VM),
                  bool(cs.flags & DESC_L), bool(cs.flags & DESC_DB)))


class NextModeCommand(BlCommand):
    """Single-step until the CPU or paging mode changes.
Usage: bl next-mode [MAX-STEPS]
Single-step (stepi) until the CPU mode or the paging mode changes, at most
MAX-STEPS instructions (default 200000). Stops early at HLT, which would not
return under single-stepping. Ctrl-C interrupts."""
    NAME = "next-mode"

    def run(self, argv):
        if len(argv) > 1:
            self.usage("too many arguments")
        limit = state.parse_int(argv[0], "step count") if argv else 200000
        NextModeCommand._window = (None, b"")
        global quiet
        start = current()
        key = None
        steps = 0
        t0 = time.monotonic()
        notif = gdb.parameter("suppress-cli-notifications")
        quiet += 1
        gdb.execute("set suppress-cli-notifications on", to_string=True)
        try:
            cs_base = state.seg("CS").base
            pc = state.reg("pc")
            # Raw remote-protocol steps (rawstep.py): several times faster
            # than `stepi`, which matters over thousands of instructions.
            stepper = rawstep.RawStepper(["cr0", "cr4", "efer", "eflags", "cs", "rip"])
            while steps < limit:
                if self._at_hlt(cs_base + pc):
                    print("bootlab: stopped before HLT after %d steps" % steps)
                    break
                stepper.step()
                steps += 1
                # Only a write to CR0/CR4/EFER, a CS load or an EFLAGS.VM
                # change can change the mode; ask QEMU for CS.L/D and the CS
                # base (1 ms each time) only then.
                cr0, cr4, efer, eflags, cs, pc = stepper.read()
                new_key = (cr0, cr4, efer, eflags & EFLAGS_VM, cs)
                if new_key != key:
                    key = new_key
                    rawstep.resync()
                    cs_base = state.seg("CS").base
                    if current() != start:
                        break
            else:
                print("bootlab: no mode change in %d steps" % steps)
        except KeyboardInterrupt:
            print("bootlab: interrupted after %d steps" % steps)
        finally:
            rawstep.resync()
            gdb.execute("set suppress-cli-notifications %s" % ("on" if notif else "off"),
                        to_string=True)
            quiet -= 1
        dt = time.monotonic() - t0
        print("bootlab: %d steps in %.2f s (%.0f steps/s)" % (steps, dt, steps / dt if dt else 0))
        # The stops were silent: report where we are as a normal stop would.
        from . import context
        check_change()
        if not context.show_if_enabled():
            print("bootlab: at %s" % format_pc())
            gdb.execute("x/i 0x%x" % linear_pc())

    _window = (None, b"")

    def _at_hlt(self, lin):
        # Reading guest memory costs a round trip per call, so keep a 64-byte
        # window of code and refill it only when the PC leaves it.
        base, data = self._window
        if base is None or not base <= lin < base + len(data):
            # Raw steps never tell GDB the guest ran: drop its cached memory.
            gdb.execute("maint flush dcache", to_string=True)
            inf = gdb.selected_inferior()
            try:
                data = bytes(inf.read_memory(lin, 64))
            except gdb.MemoryError:
                try:
                    data = bytes(inf.read_memory(lin, 1))
                except gdb.MemoryError:
                    return False
            base = lin
            NextModeCommand._window = (base, data)
        return data[lin - base] == OPCODE_HLT
