# walk.py: a guided, non-interactive tour of the boot path (make walk).
#
# Run inside GDB after debug/lab.gdb and a `target remote` to a paused QEMU:
# it stops at each transition symbol of the README's boot-path table, says
# what just happened, shows what changed (the extension's context display
# prints mode changes and control-register diffs on every stop) and the state
# that matters there, catches the first write to VGA memory with a watchpoint,
# and ends by rendering the screen. Any failure raises gdb.GdbError, so
# `gdb -batch` exits non-zero with the reason.
import gdb

from bootlab import bounded  # the extension, loaded by debug/lab.gdb

# How long one leg of the tour may take before we call the guest hung.
LEG_TIMEOUT_S = 20

# Where a failing guest ends up: the boot stages' and the kernel's failure paths.
FAILURE_SYMBOLS = {
    "boot_halt": "the boot code stopped with an error message",
    "exception_handler": "the kernel took a CPU exception (panic screen)",
}

# (symbol, title, narrative, commands that show the state there)
STEPS = [
    ("boot_start", "The BIOS hands over at 0x7c00",
     "SeaBIOS loaded sector 0 to 0x7c00 and jumped to it, in real mode, with the\n"
     "boot drive in DL (0x80 = first hard disk).",
     ["info registers cs dl", "bl seg"]),
    ("stage2_loaded", "Stage 2 and the kernel are in memory",
     "Two INT 13h AH=42h reads put stage 2 at 0x7e00 and the kernel at 0x10000.\n"
     "The first bytes of each:",
     ["bl phys 0x7e00 16", "bl phys 0x10000 16"]),
    ("a20_enabled", "A20 is on",
     "Address line 20 no longer wraps: 0x100500 and 0x500 are different bytes now.",
     ["bl phys 0x500 2", "bl phys 0x100500 2"]),
    ("e820_done", "The BIOS memory map is collected",
     "INT 15h E820h wrote the map into boot_info (0x4000) for the kernel.",
     ["print/x *(unsigned short *)(0x4000 + 6)"]),
    ("long_mode_supported", "CPUID says this CPU has long mode", "", []),
    ("gdt_loaded", "The GDT is loaded",
     "LGDT gave the CPU the table; nothing uses it until a segment register\n"
     "is loaded. The descriptors, decoded:",
     ["bl gdt"]),
    ("pe_set", "CR0.PE is set",
     "The CPU is in protected mode now, but CS still holds its real-mode\n"
     "cache: it keeps decoding 16-bit code until the far jump reloads CS.",
     ["bl cr", "bl seg"]),
    ("pm_entry", "The first 32-bit protected-mode instruction",
     "The far jump loaded CS with selector 0x08: a 32-bit code descriptor.",
     ["bl seg"]),
    ("page_tables_built", "Identity page tables are built",
     "PML4 -> PDPT -> PD at 0x1000-0x3fff map the first 1 GiB with 2 MiB pages.",
     ["bl phys 0x3000 32"]),
    ("pae_enabled", "CR4.PAE is set", "Long mode needs the 64-bit (PAE) entry format.", []),
    ("cr3_loaded", "CR3 points at the PML4", "Paging is still off: CR3 is only stored.", []),
    ("lme_set", "EFER.LME is set",
     "Long mode is enabled but not active (EFER.LMA = 0) until paging is on.",
     ["bl cr"]),
    ("pg_set", "CR0.PG is set: long mode is active",
     "The CPU set EFER.LMA. CS still holds the 32-bit descriptor, so this is\n"
     "compatibility mode. Every address is now translated; 0xb8000 walks to:",
     ["bl walk 0xb8000"]),
    ("lm_entry", "The first 64-bit instruction",
     "The far jump loaded CS with selector 0x18 (L=1): 64-bit mode.",
     ["bl seg"]),
    ("kmain", "The C kernel starts",
     "lm_entry set up the stack, cleared .bss and called kmain(info) with the\n"
     "boot_info pointer in RDI, as the System V AMD64 ABI passes it.",
     ["bt", "info args"]),
]


def say(text=""):
    gdb.write(text + "\n")
    gdb.flush()


def heading(number, title, where):
    say()
    say(f"=== {number}. {title} ({where}) ===")


def continue_bounded(goal):
    """`continue`, but interrupt the guest if no stop comes within
    LEG_TIMEOUT_S, and then say where it hung."""
    try:
        _, timed_out = bounded.continue_for(LEG_TIMEOUT_S)
    except gdb.error as e:
        raise gdb.GdbError(f"walk: the guest went away on the way to {goal}: {e}")
    if timed_out:
        raise gdb.GdbError(f"walk: no stop within {LEG_TIMEOUT_S} s on the way to {goal}; "
                           f"the guest hangs at {location()}")


def check_not_failed(goal, failures):
    for symbol, stop in failures.items():
        if stop.hit_count:
            raise gdb.GdbError(f"walk: stopped in {symbol} before {goal}: "
                               f"{FAILURE_SYMBOLS[symbol]}; see the debug console "
                               "log next to this transcript, and `bl vga`")


def leg(goal, failures, number, title):
    """Print the heading, run to the breakpoint on goal, check we got there."""
    heading(number, title, goal)
    stop = gdb.Breakpoint(goal)
    continue_bounded(goal)
    check_not_failed(goal, failures)
    if stop.hit_count == 0:
        raise gdb.GdbError(f"walk: expected to stop at {goal}, stopped at {location()}")
    stop.delete()


def location():
    sal = gdb.selected_frame().find_sal()
    if sal.symtab:
        return f"{sal.symtab.filename}:{sal.line}"
    return hex(int(gdb.parse_and_eval("$pc")))


def walk():
    say("bootlab walk: from the BIOS handoff to the first character on screen.")
    say("Each stop below is a symbol from the README's boot-path table.")
    failures = {symbol: gdb.Breakpoint(symbol) for symbol in FAILURE_SYMBOLS}

    number = 0
    for symbol, title, story, commands in STEPS:
        number += 1
        leg(symbol, failures, number, title)
        if story:
            say(story)
        for command in commands:
            say(f"(gdb) {command}")
            gdb.execute(command)

    number += 1
    heading(number, "The first write to VGA memory", "watch *(short *)0xb8000")
    watch = gdb.Breakpoint("*(short *)0xb8000", gdb.BP_WATCHPOINT)
    continue_bounded("the first VGA write")
    check_not_failed("the first VGA write", failures)
    say(f"A watchpoint on the first cell (character and attribute) caught the C\n"
        f"line that wrote it, {location()}:")
    gdb.execute("bt 2")
    watch.delete()

    number += 1
    leg("debug_exit", failures, number, "The kernel is done")
    say("kmain printed its banner and report; this is the VGA text screen:")
    gdb.execute("bl vga")
    say()
    say("bootlab walk: complete.")


def end_guest():
    """Kill rather than detach: a detached QEMU takes seconds to go away."""
    if gdb.selected_inferior().pid:
        gdb.execute("kill")


try:
    walk()
    end_guest()
except gdb.GdbError as e:
    # One line, no traceback; `quit 1` makes `gdb -batch` exit non-zero.
    say(str(e))
    end_guest()
    gdb.execute("quit 1")
