"""The guided tour of the boot path, inside GDB (make tour; bootlab/tour.py
starts it).

Run after debug/lab.gdb and a `target remote` to a paused QEMU: it stops at
each milestone of the boot path (bootlab.project.MILESTONES), says what just
happened, shows what changed (the context display prints mode changes and
control-register diffs on every stop) and the state that matters there,
catches the first write to VGA memory with a watchpoint, and ends by
rendering the screen. A failure raises gdb.GdbError: one line, and `gdb
-batch` exits non-zero.
"""
import gdb

from .. import project
from ..vga import VGA_TEXT_ADDR
from .scripting import continue_for, end_session, say

# How long one leg of the tour may take before we call the guest hung.
LEG_TIMEOUT_S = 20


def heading(number, title, where):
    say()
    say(f"=== {number}. {title} ({where}) ===")


def location():
    sal = gdb.selected_frame().find_sal()
    if sal.symtab:
        return f"{sal.symtab.filename}:{sal.line}"
    return hex(int(gdb.parse_and_eval("$pc")))


def shutdown_note():
    """Why the guest is gone, when QEMU's machine shut down: with -no-reboot a
    reset request (a triple fault makes one) shuts it down, and -no-shutdown
    keeps it paused (configs/qemu.args)."""
    from .qemuside import shutdown_note as note
    return note()


def continue_bounded(goal):
    """`continue`, but interrupt the guest if no stop comes within
    LEG_TIMEOUT_S, and then say where it hung, or that it reset."""
    try:
        _, timed_out = continue_for(LEG_TIMEOUT_S)
    except gdb.error as e:
        raise gdb.GdbError(f"tour: the guest went away on the way to {goal}: {e}")
    if timed_out:
        note = shutdown_note()
        if note:
            raise gdb.GdbError(f"tour: on the way to {goal}, {note}")
        raise gdb.GdbError(f"tour: no stop within {LEG_TIMEOUT_S} s on the way to {goal}; "
                           f"the guest hangs at {location()}")


def check_not_failed(goal, failures):
    for symbol, stop in failures.items():
        if stop.hit_count:
            raise gdb.GdbError(f"tour: stopped in {symbol} before {goal}: "
                               f"{project.FAILURES[symbol]}; see the debug console "
                               "log next to this transcript, and `bl vga`")


def leg(goal, failures, number, title):
    """Print the heading, run to the breakpoint on goal, check we got there."""
    heading(number, title, goal)
    stop = gdb.Breakpoint(goal)
    continue_bounded(goal)
    check_not_failed(goal, failures)
    if stop.hit_count == 0:
        note = shutdown_note()
        if note:
            raise gdb.GdbError(f"tour: on the way to {goal}, {note}")
        raise gdb.GdbError(f"tour: expected to stop at {goal}, stopped at {location()}")
    stop.delete()


def tour():
    say("bootlab tour: from the BIOS handoff to the first character on screen.")
    say("Each stop below is a symbol from the README's boot-path table.")
    failures = {}
    for symbol in project.FAILURES:
        try:
            failures[symbol] = gdb.Breakpoint(symbol, internal=True)
        except gdb.error:
            pass
    number = 0
    for m in project.MILESTONES:
        number += 1
        leg(m.name, failures, number, m.title)
        if m.story:
            say(m.story)
        for command in m.show:
            say(f"(gdb) {command}")
            gdb.execute(command)

    number += 1
    heading(number, "The first write to VGA memory", "watch *(short *)0x%x" % VGA_TEXT_ADDR)
    watch = gdb.Breakpoint("*(short *)0x%x" % VGA_TEXT_ADDR, gdb.BP_WATCHPOINT)
    continue_bounded("the first VGA write")
    check_not_failed("the first VGA write", failures)
    say(f"A watchpoint on the first cell (character and attribute) caught the C\n"
        f"line that wrote it, {location()}:")
    gdb.execute("bt 2")
    watch.delete()

    number += 1
    leg(project.END, failures, number, "The kernel is done")
    say("kmain printed its banner and report; this is the VGA text screen:")
    gdb.execute("bl vga")
    say()
    say("bootlab tour: complete.")


def main():
    try:
        tour()
    except gdb.GdbError as e:
        say(str(e))
        end_session()
        gdb.execute("quit 1")
    end_session()
    say("bootlab tour: the guest is ended.")
