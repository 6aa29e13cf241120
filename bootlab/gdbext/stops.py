"""Breakpoints in real mode when CS is not 0, and the hooks bootlab puts on
stepping commands.

GDB plants breakpoints at linear addresses and QEMU matches them on
CS.base + IP, but QEMU reports the stop with $pc = IP alone. With CS=0x07c0,
`break *0x7c05` therefore stops with $pc = 0x5, where GDB knows no breakpoint,
and GDB prints a bare "Program received signal SIGTRAP". This module
recognises such stops (CS.base + IP equals a breakpoint location) and says
which breakpoint was hit.

A second effect: GDB only steps over a breakpoint it knows it is stopped at,
so `continue` from such a stop would hit the same breakpoint again at once.
A `hook-continue` therefore steps one instruction with those breakpoints
disabled before `continue` resumes. `hook-stepi` and `hook-nexti` tell the
snapshot that one instruction is about to run (snapshot.note_single_step).

A third: `break kmain` typed while the kernel is not yet in memory. GDB skips
a function's prologue by reading its code from the target, which holds zeros
then, so the breakpoint lands on the function's first line, before the
arguments are saved, and the stop shows `kmain (info=0x0)` although RDI is
0x4000. While a breakpoint command runs, bootlab sets
`trust-readonly-sections on` (GDB then reads .text from the ELF file, as it
will be once loaded) and turns it off again right after, so every other
memory read still shows what memory holds.
"""
import gdb

from . import snapshot, stepping, target

_pending = [None]   # (linear address, breakpoint numbers, cs, ip) of the last hit
HOOKS = {
    "hook-continue": "python import bootlab.gdbext.stops as s; s.step_over()",
    "hook-stepi": "bootlab-note-step",
    "hook-nexti": "bootlab-note-step",
}
# The commands that create a breakpoint from a location (prologue analysis).
BREAK_COMMANDS = ("break", "tbreak", "hbreak", "thbreak", "until", "advance")
for _name in BREAK_COMMANDS:
    HOOKS["hook-" + _name] = "set trust-readonly-sections on"
    HOOKS["hookpost-" + _name] = "set trust-readonly-sections off"


def _at_linear(lin):
    hits = []
    for bp in gdb.breakpoints():
        if not bp.enabled or bp.type not in (gdb.BP_BREAKPOINT, gdb.BP_HARDWARE_BREAKPOINT):
            continue
        if any(loc.enabled and loc.address == lin for loc in bp.locations):
            hits.append(bp)
    return hits


def on_stop(event):
    _pending[0] = None
    # GDB reports a SIGTRAP it cannot explain as a plain StopEvent (not a
    # SignalEvent, not a BreakpointEvent).
    if isinstance(event, (gdb.BreakpointEvent, gdb.SignalEvent)):
        return
    st = snapshot.current().state
    if st.cs.base == 0:
        return
    lin = st.pc_linear
    hits = _at_linear(lin)
    if not hits:
        return
    where = st.format_pc()
    for bp in hits:
        print("bootlab: %s %d at %s" % ("Temporary breakpoint" if bp.temporary else "Breakpoint",
                                        bp.number, where))
    keep = [bp.number for bp in hits if not bp.temporary]
    for bp in hits:
        if bp.temporary:
            bp.delete()
    if keep:
        _pending[0] = (lin, keep, st.regs["cs"], st.regs["rip"])


def step_over():
    """Called by hook-continue: leave the breakpoint we are stopped at."""
    pending, _pending[0] = _pending[0], None
    if pending is None:
        return
    lin, numbers, cs, ip = pending
    try:
        if not target.is_live() or (target.reg("cs"), target.reg("pc")) != (cs, ip):
            return
        bps = [bp for bp in gdb.breakpoints() if bp.number in numbers and bp.enabled]
        notif = gdb.parameter("suppress-cli-notifications")
        stepping.quiet[0] += 1
        try:
            for bp in bps:
                bp.enabled = False
            gdb.execute("set suppress-cli-notifications on", to_string=True)
            gdb.execute("stepi", to_string=True)
        finally:
            for bp in bps:
                bp.enabled = True
            gdb.execute("set suppress-cli-notifications %s" % ("on" if notif else "off"),
                        to_string=True)
            stepping.quiet[0] -= 1
    except gdb.error as e:
        print("bootlab: could not step over the breakpoint: %s" % e)


class NoteStep(gdb.Command):
    """Internal to bootlab, run by hook-stepi and hook-nexti: note the
instruction about to run (a command costs GDB a fraction of a `python ...`
line, which is compiled anew each time: this runs at every stepi)."""

    def __init__(self):
        super().__init__("bootlab-note-step", gdb.COMMAND_MAINTENANCE)

    def invoke(self, arg, from_tty):
        try:
            snapshot.note_single_step()
        except Exception:       # never stand between the user and a stepi:
            snapshot.forget()   # the next stop asks the monitor instead


def install_hooks():
    NoteStep()
    for hook, body in HOOKS.items():
        try:
            existing = gdb.execute("show user " + hook, to_string=True)
        except gdb.error:
            existing = ""
        if existing.strip() and "bootlab" not in existing:
            what = ("`continue` from a real-mode breakpoint with CS != 0 will need a `stepi` "
                    "first" if hook == "hook-continue" else
                    "each stop after %s will ask QEMU's monitor again (slower, still right)"
                    % hook[5:] if hook in ("hook-stepi", "hook-nexti") else
                    "a breakpoint on a function not yet in memory may stop before its "
                    "prologue")
            print("bootlab: you have your own %s; %s" % (hook, what))
            continue
        gdb.execute("define %s\n%s\nend" % (hook, body))
