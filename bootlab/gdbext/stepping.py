"""Stepping the selected CPU at the speed of the link until something
happens: `bl next-mode` (the CPU or paging mode changes) and `bl until
EVENT` (a CR3 load, a far transfer, an exception...).

Each step is a raw `s` and `g` (rawstep.py); the instruction about to run is
decoded from a window of code read once per 64 bytes; the monitor is asked
only when the core says the instruction may have changed what it shows
(snapshot.after_raw_step). A `rep` string instruction runs as one unit (a
temporary breakpoint after it, then continue), unless asked otherwise;
HLT ends the run (under single-stepping it would never return).
"""
import time

import gdb

from ..x86 import decode
from . import rawstep, scripting, snapshot, target

WINDOW = 64              # code bytes read at a time
REP_LIMIT_S = 20         # one rep instruction at full speed
quiet = [0]              # > 0 while bootlab steps: no mode messages, no context


class Stop(Exception):
    def __init__(self, why):
        super().__init__(why)
        self.why = why


class Code:
    """Instructions at linear addresses, decoded from a window of memory
    read through GDB (raw steps never tell GDB the guest ran: its memory
    cache is flushed before each read)."""

    def __init__(self):
        self.base, self.data = None, b""
        self.decoded = {}     # (linear, bits, CS base) -> Insn, while the window stays

    def at(self, state):
        lin, m = state.pc_linear, state.mode
        if self.base is None or not self.base <= lin < self.base + len(self.data) - 15:
            gdb.execute("maint flush dcache", to_string=True)
            inf = gdb.selected_inferior()
            try:
                self.data = decode.read_code(lambda a, n: inf.read_memory(a, n), lin, WINDOW)
            except gdb.MemoryError:
                raise Stop("cannot read the code at linear 0x%x" % lin)
            self.base = lin
            self.decoded = {}
        key = (lin, m.bits, state.cs.base)
        insn = self.decoded.get(key)
        if insn is None:
            insns = decode.decode(self.data[lin - self.base:], lin, m.bits, state.cs.selector,
                                  state.cs.base)
            if not insns:
                raise Stop("cannot decode the instruction at linear 0x%x" % lin)
            insn = self.decoded[key] = insns[0]
        return insn


class Run:
    """One run: steps until after(before, insn, after) returns a reason, or
    ahead(snapshot, insn) does for the instruction about to run."""

    def __init__(self, limit, after=None, ahead=None, each_iteration=False):
        self.after, self.ahead = after, ahead
        self.limit, self.each_iteration = limit, each_iteration
        self.steps = self.reps = 0
        self.why = None
        self.found = True         # False when the step bound ended the run
        self.nothing = "such event"

    def go(self):
        snap = snapshot.current()
        stepper = rawstep.Stepper()
        code = Code()
        notif = gdb.parameter("suppress-cli-notifications")
        quiet[0] += 1
        gdb.execute("set suppress-cli-notifications on", to_string=True)
        t0 = time.monotonic()
        try:
            while self.steps < self.limit:
                st = snap.state
                insn = code.at(st)
                why = self.steps and self.ahead and self.ahead(snap, insn)
                if why:
                    raise Stop(why)
                if insn.kind == "hlt":
                    raise Stop("stopped before HLT")
                if insn.is_rep() and not self.each_iteration:
                    stepper.finish()
                    self.run_rep(insn)
                    after = snapshot.current()
                    self.reps += 1
                    code.base = None      # the rep may have written the code
                    code.decoded = {}
                else:
                    _, regs = stepper.step(snap.regs)
                    after = snapshot.after_raw_step(snap, insn, regs)
                self.steps += 1
                why = self.after and self.after(snap, insn, after)
                snap = after
                if why:
                    raise Stop(why)
            self.why = "no %s in %d steps" % (self.nothing, self.steps)
            self.found = False
        except Stop as e:
            self.why = e.why
        except KeyboardInterrupt:
            self.why = "interrupted"
        finally:
            stepper.finish()
            gdb.execute("set suppress-cli-notifications %s" % ("on" if notif else "off"),
                        to_string=True)
            quiet[0] -= 1
        self.seconds = time.monotonic() - t0
        return self

    def run_rep(self, insn):
        """Run a rep string instruction to its end at full speed: a temporary
        breakpoint at the next instruction, then continue (bounded)."""
        bp = gdb.Breakpoint("*0x%x" % (insn.address + insn.size), internal=True, temporary=True)
        try:
            _, timed_out = scripting.continue_for(REP_LIMIT_S, to_string=True)
        except gdb.error as e:
            raise Stop("the guest went away during `%s`: %s" % (insn.text(), e))
        finally:
            if bp.is_valid():
                bp.delete()
        snapshot.invalidate()
        if timed_out:
            raise Stop("`%s` at 0x%x was still running after %d s (interrupted)"
                       % (insn.text(), insn.address, REP_LIMIT_S))
        if snapshot.current().state.pc_linear != insn.address + insn.size:
            raise Stop("`%s` at 0x%x did not end where expected (an exception?)"
                       % (insn.text(), insn.address))

    def report(self, say_why=True):
        """The lines a run ends with: why (unless the caller says it), then
        the count and the rate."""
        rate = self.steps / self.seconds if self.seconds else 0
        lines = ["bootlab: %s" % self.why] if say_why else []
        line = "bootlab: %d steps in %.2f s (%.0f steps/s)" % (self.steps, self.seconds, rate)
        if self.reps:
            line += "; %d rep instruction%s ran as one step each" % (self.reps, "s" * (self.reps != 1))
        return lines + [line]
