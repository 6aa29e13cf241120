"""The guided tour of the boot path, inside GDB (make tour; bootlab/tour.py
starts it).

Run after debug/lab.gdb and a `target remote` to a paused QEMU: it stops at
each milestone of the boot path (bootlab.project.MILESTONES), says what just
happened, shows what changed (the context display prints mode changes and
control-register diffs on every stop) and the state that matters there,
catches the first write to VGA memory with a watchpoint, and ends by
rendering the screen. A failure raises gdb.GdbError: one line, and `gdb
-batch` exits non-zero.

On a PC with more than one CPU and the SMP kernel (make tour SMP=N), the
BSP's journey is followed by AP 1's (bootlab.project.AP_MILESTONES, then
ap_park): each stop must be CPU 1's, at the milestone's linear address
(at ap_start CS is 0x0a00, so GDB's $pc, the bare IP, is 0 there). The
other APs start unwatched; the end shows every CPU.
"""
import gdb

from .. import project
from ..vga import VGA_TEXT_ADDR
from . import snapshot, target
from .scripting import continue_for, end_session, say

FOLLOWED_AP = 1          # the AP whose journey the tour follows
PARK = project.Milestone(
    project.AP_PARK, "The AP parks", "the AP is done: interrupts off, HLT for good",
    "ap_main wrote CPU 1's line and returned: the AP parks with interrupts off in\n"
    "HLT, which only NMI, SMI or INIT end (the jmp after it is there should one).\n"
    "For this leg the tour held CPU 0 (set scheduler-locking on): once CPU 1 said\n"
    "it is online, CPU 0 goes on, and could reach the end of the kernel before\n"
    "CPU 1 gets here whenever the host is slow to run CPU 1. After this stop it\n"
    "lets CPU 1 alone run into its HLT, so the end finds it there.")
PARK_TRIES, PARK_SLICE_S = 20, 0.25     # CPU 1 has two instructions to run: cli, hlt

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


def show(m):
    if m.story:
        say(m.story)
    for command in m.show:
        say(f"(gdb) {command}")
        gdb.execute(command)


def symbol_address(name):
    try:
        return int(gdb.parse_and_eval("(long)&%s" % name))
    except gdb.error:
        return None


def ap_leg(m, cpu, failures, number, hold=False):
    """Like leg(), for an AP: the stop must be CPU cpu's, at the breakpoint's
    linear address (GDB cannot tell when CS.base is not 0: a bare SIGTRAP).
    hold: only that CPU runs on the way."""
    where = f"{m.name}, CPU {cpu}"
    heading(number, m.title, where)
    stop = gdb.Breakpoint(m.name)
    at = stop.locations[0].address if stop.locations else symbol_address(m.name)
    if hold:
        gdb.execute("set scheduler-locking on")
    try:
        continue_bounded(where)
    finally:
        if hold:
            gdb.execute("set scheduler-locking off")
    check_not_failed(where, failures)
    here, lin = target.thread_cpu(), snapshot.current().state.pc_linear
    if (here, lin) != (cpu, at):
        note = shutdown_note()
        if note:
            raise gdb.GdbError(f"tour: on the way to {where}, {note}")
        raise gdb.GdbError(f"tour: expected CPU {cpu} at {m.name} (linear {at:#x}), "
                           f"CPU {here} stopped at {location()} (linear {lin:#x})")
    stop.delete()


def ap_journey(failures, number):
    """AP 1's walk from its Start-Up IPI to ap_park; returns the last number."""
    cpu = FOLLOWED_AP
    say()
    say(f"bootlab tour, part 2: CPU {cpu} walks the same path, started by CPU 0.")
    say("Only CPU 0 ran the BIOS and the boot path above. In smp_start_aps() it copied\n"
        f"the trampoline to {project.const('TRAMPOLINE_ADDR'):#x} and sends CPU {cpu} INIT, "
        "then Start-Up IPIs. Each stop\n"
        f"below is CPU {cpu}'s (GDB's thread {cpu + 1}), a symbol from the README's AP table.")
    for m in project.AP_MILESTONES + [PARK]:
        number += 1
        ap_leg(m, cpu, failures, number, hold=m is PARK)
        show(m)
    into_hlt(cpu)
    return number


def into_hlt(cpu):
    """Run the selected CPU alone until it sits in HLT (it then never stops
    by itself: each slice ends with an interrupt), so that the end of the
    tour shows it halted whatever the host's scheduling."""
    gdb.execute("set scheduler-locking on")
    try:
        for _ in range(PARK_TRIES):
            continue_for(PARK_SLICE_S, to_string=True)
            snapshot.invalidate()
            if snapshot.current().monitor.halted:
                return
    finally:
        gdb.execute("set scheduler-locking off")
    raise gdb.GdbError(f"tour: CPU {cpu} did not reach its HLT in ap_park")


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
        show(m)

    number += 1
    heading(number, "The first write to VGA memory", "watch *(short *)0x%x" % VGA_TEXT_ADDR)
    watch = gdb.Breakpoint("*(short *)0x%x" % VGA_TEXT_ADDR, gdb.BP_WATCHPOINT)
    continue_bounded("the first VGA write")
    check_not_failed("the first VGA write", failures)
    say(f"A watchpoint on the first cell (character and attribute) caught the C\n"
        f"line that wrote it, {location()}:")
    gdb.execute("bt 2")
    watch.delete()

    smp = symbol_address(project.AP_NAMES[0]) is not None
    if smp and target.cpu_count() > FOLLOWED_AP:
        number = ap_journey(failures, number)
    elif smp:
        say()
        say("This kernel starts the other CPUs, but this PC has one (SMP=1): no AP to follow.")

    number += 1
    leg(project.END, failures, number, "The kernel is done")
    if smp:
        say("Every CPU, at the end:")
        say("(gdb) bl cpus")
        gdb.execute("bl cpus")
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
