"""The CPU's mode: `bl mode`, the one-line messages when it changes, `bl
next-mode` and `bl until`. The decision itself is the core's
(bootlab.x86.modes, SDM 2.2 Figure 2-3): this module asks the snapshot of
the selected CPU and says what it finds.
"""
import gdb

from . import replay, snapshot, stepping, target
from .command import BlCommand, BlParameter

STEP_LIMIT_MAX = 10 ** 9
DEFAULT_STEPS = 200000

_last = {}   # CPU index -> the Mode seen at its previous stop


def linear_pc():
    return snapshot.current().state.pc_linear


def cpu_label():
    """'CPU 1 ' when the guest has several CPUs (messages must say which)."""
    if target.cpu_count() > 1:
        return "CPU %d " % target.thread_cpu()
    return ""


def check_change(announce=True):
    """Compare the selected CPU's mode with the one at its previous stop;
    print a line for each change. Returns (old, new)."""
    snap = snapshot.current()
    new = snap.mode
    old = _last.get(snap.cpu)
    _last[snap.cpu] = new
    if announce and Messages.value:
        # Under replay, a change seen while going back is the transition
        # undone: say so, or "64-bit -> real" reads like a mode switch.
        back = " (going back)" if replay.direction == "back" else ""
        who = cpu_label()
        if old is None:
            print("bootlab: %smode %s" % (who, new))
        else:
            if old.name != new.name:
                print("bootlab: %smode %s -> %s%s" % (who, old.name, new.name, back))
            if old.paging != new.paging:
                print("bootlab: %spaging %s -> %s%s" % (who, old.paging, new.paging, back))
    return old, new


def forget(*_):
    _last.clear()


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
64-bit) of GDB's selected CPU, the paging mode, and the bits that decide them."""
    NAME = "mode"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        for line in mode_lines(snapshot.current().state):
            print(line)


def mode_lines(st):
    """What `bl mode` prints (and the TUI's state window shows first)."""
    lines = ["cpu:    %d" % target.thread_cpu()] if cpu_label() else []
    return lines + ["mode:   %s" % st.mode.name, "paging: %s" % st.mode.paging,
                    "at:     %s" % st.format_pc(), "why:    %s" % st.why()]


# ---- bl next-mode and bl until --------------------------------------------------

def _mode_event(before, insn, after):
    a, b = before.mode, after.mode
    if a != b:
        return "mode %s -> %s" % (a, b)
    return None


def _changed(reg, why):
    def event(before, insn, after):
        if before.regs[reg] != after.regs[reg]:
            return "%s: %s 0x%x -> 0x%x" % (why, reg.upper(), before.regs[reg], after.regs[reg])
        return None
    return event


def _kind_ahead(kinds, why):
    """For the instruction about to run: stop before it, so its operands can
    still be looked at."""
    def ahead(snap, insn):
        return "%s ahead: %s at 0x%x" % (why, insn.text(), insn.address) if insn.kind in kinds else None
    return ahead


def _exception_event(before, insn, after):
    """The CPU is not where the instruction alone would take it, or it was
    an `int`: an exception or interrupt was delivered."""
    if insn.kind == "int":
        return "software interrupt: %s at 0x%x" % (insn.text(), insn.address)
    successors = insn.successors()
    ip = after.regs["rip"] & ((1 << insn.bits) - 1)
    if successors is not None and ip not in successors and insn.kind not in ("far",):
        return "exception or interrupt: after %s at 0x%x the CPU is at %s" % (
            insn.text(), insn.address, after.state.format_pc())
    return None


def _paging_event(before, insn, after):
    a, b = before.mode.paging, after.mode.paging
    return "paging %s -> %s" % (a, b) if a != b else None


# name -> (after-step event, before-instruction event)
EVENTS = {
    "mode": (_mode_event, None),
    "paging": (_paging_event, None),
    "cr3": (_changed("cr3", "CR3 loaded"), None),
    "far": (None, _kind_ahead(("far", "int"), "far transfer")),
    "exception": (_exception_event, None),
    "cr": (None, _kind_ahead(("cr",), "control register write")),
    "msr": (None, _kind_ahead(("msr",), "MSR write")),
}


def parse_run_args(cmd, argv):
    each = "--each-iteration" in argv
    argv = [a for a in argv if a != "--each-iteration"]
    if len(argv) > 1:
        cmd.usage("too many arguments")
    limit = target.parse_int(argv[0], "step count", 1, STEP_LIMIT_MAX) if argv else DEFAULT_STEPS
    return limit, each


def finish_run(run, say_why=True):
    for line in run.report(say_why):
        print(line)
    # The steps were silent: report where we are as a normal stop would.
    from . import context
    check_change()
    if not context.show_if_enabled():
        print("bootlab: at %s" % snapshot.current().state.format_pc())
        gdb.execute("x/i 0x%x" % linear_pc())


class NextModeCommand(BlCommand):
    """Single-step until the CPU or paging mode changes.
Usage: bl next-mode [--each-iteration] [MAX-STEPS]
Single-step GDB's selected CPU until its CPU mode or paging mode changes, at
most MAX-STEPS instructions (default 200000, 1..10^9). A rep string
instruction counts as one step and runs at full speed (--each-iteration
steps every iteration). Stops before HLT, which would not return under
single-stepping. Ctrl-C interrupts. Other CPUs stay stopped."""
    NAME = "next-mode"

    def run(self, argv):
        limit, each = parse_run_args(self, argv)
        run = stepping.Run(limit, after=_mode_event, each_iteration=each)
        run.nothing = "mode change"
        run.go()
        # A mode change is said by the mode message below, as at any stop.
        finish_run(run, say_why=not run.why.startswith("mode "))


class UntilCommand(BlCommand):
    """Single-step until an event happens.
Usage: bl until EVENT [--each-iteration] [MAX-STEPS]
Single-step GDB's selected CPU at the speed of the link until EVENT, at most
MAX-STEPS instructions (default 200000). EVENT is one of:
  mode        the CPU or the paging mode changes (as bl next-mode)
  paging      the paging mode changes
  cr3         CR3 is loaded with a new value
  far         a far jump, call or return, iret, int, syscall or sysret runs
  exception   an exception or interrupt is delivered (the CPU is not where
              the instruction alone would take it)
  cr          an instruction writes a control register (mov crN, lmsw, clts)
  msr         wrmsr runs
It stops after the instruction that did it (for far, cr and msr: before it
runs, so you can look at its operands; step once more to run it).
rep string instructions run as one step unless --each-iteration."""
    NAME = "until"

    def run(self, argv):
        if not argv or argv[0] not in EVENTS:
            self.usage("name an event: %s" % ", ".join(EVENTS))
        limit, each = parse_run_args(self, argv[1:])
        after, ahead = EVENTS[argv[0]]
        finish_run(stepping.Run(limit, after=after, ahead=ahead, each_iteration=each).go())
