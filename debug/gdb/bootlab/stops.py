"""Breakpoints in real mode when CS is not 0.

GDB plants breakpoints at linear addresses and QEMU matches them on
CS.base + IP, but QEMU reports the stop with $pc = IP alone. With CS=0x07c0,
`break *0x7c05` therefore stops with $pc = 0x5, where GDB knows no breakpoint,
and GDB prints a bare "Program received signal SIGTRAP". This module
recognises such stops (CS.base + IP equals a breakpoint location) and says
which breakpoint was hit.

A second effect: GDB only steps over a breakpoint it knows it is stopped at,
so `continue` from such a stop would hit the same breakpoint again at once.
A `hook-continue` therefore steps one instruction with those breakpoints
disabled before `continue` resumes.
"""
import gdb

from . import mode, state

_pending = None   # (linear address, breakpoint numbers, cs, ip) of the last hit


def _at_linear(lin):
    hits = []
    for bp in gdb.breakpoints():
        if not bp.enabled or bp.type not in (gdb.BP_BREAKPOINT, gdb.BP_HARDWARE_BREAKPOINT):
            continue
        if any(loc.enabled and loc.address == lin for loc in bp.locations):
            hits.append(bp)
    return hits


def on_stop(event):
    global _pending
    _pending = None
    # GDB reports a SIGTRAP it cannot explain as a plain StopEvent (not a
    # SignalEvent, not a BreakpointEvent).
    if isinstance(event, (gdb.BreakpointEvent, gdb.SignalEvent)):
        return
    cs = state.seg("CS")
    if cs.base == 0:
        return
    ip = state.reg("pc")
    lin = (cs.base + ip) & 0xffffffffffffffff
    hits = _at_linear(lin)
    if not hits:
        return
    where = mode.format_pc()
    for bp in hits:
        print("bootlab: %s %d at %s" % ("Temporary breakpoint" if bp.temporary else "Breakpoint",
                                        bp.number, where))
    keep = [bp.number for bp in hits if not bp.temporary]
    for bp in hits:
        if bp.temporary:
            bp.delete()
    if keep:
        _pending = (lin, keep, state.reg("cs"), ip)


def step_over():
    """Called by hook-continue: leave the breakpoint we are stopped at."""
    global _pending
    if _pending is None:
        return
    lin, numbers, cs, ip = _pending
    _pending = None
    try:
        if not state.is_live() or (state.reg("cs"), state.reg("pc")) != (cs, ip):
            return
        bps = [bp for bp in gdb.breakpoints() if bp.number in numbers and bp.enabled]
        notif = gdb.parameter("suppress-cli-notifications")
        mode.quiet += 1
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
            mode.quiet -= 1
    except gdb.error as e:
        print("bootlab: could not step over the breakpoint: %s" % e)


HOOK = "hook-continue"


def install_hook():
    try:
        existing = gdb.execute("show user " + HOOK, to_string=True)
    except gdb.error:
        existing = ""
    if existing.strip() and "bootlab" not in existing:
        print("bootlab: you have your own %s; `continue` from a real-mode breakpoint "
              "with CS != 0 will need a `stepi` first" % HOOK)
        return
    gdb.execute("define %s\npython import bootlab.stops; bootlab.stops.step_over()\nend" % HOOK)
