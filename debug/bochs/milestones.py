"""milestones: the boot's named transitions, in order, and the symbol tables.

Each transition is a global label in boot/ or kernel/. All but boot_start
(the BIOS jumps there) and kmain (C) begin with MAGIC_BREAK (`xchg bx, bx`,
boot/macros.inc), where Bochs stops right AFTER the instruction: 2 bytes
past the label in 16-bit code, 3 in 32- and 64-bit code (66 87 db).
"""


# (symbol, what has just become true there)
TRANSITIONS = [
    ("boot_start", "the BIOS jumped to the boot sector at 0x7c00 (real mode)"),
    ("stage2_loaded", "the boot sector read stage 2 and the kernel from disk"),
    ("stage2_start", "stage 2 runs at 0x7e00 (real mode)"),
    ("a20_enabled", "the A20 gate is on: addresses above 1 MiB do not wrap"),
    ("e820_done", "the BIOS memory map (E820) is saved for the kernel"),
    ("long_mode_supported", "CPUID says this CPU has long mode"),
    ("gdt_loaded", "LGDT done: GDTR points at bootlab's GDT"),
    ("pe_set", "CR0.PE=1, but CS still holds its real-mode cache (16-bit code)"),
    ("pm_entry", "the far jump loaded CS=SEL_CODE32: 32-bit protected mode"),
    ("page_tables_built", "PML4/PDPT/PD built, identity map of the first 1 GiB"),
    ("pae_enabled", "CR4.PAE=1"),
    ("cr3_loaded", "CR3 = the PML4"),
    ("lme_set", "EFER.LME=1 (long mode enabled, not yet active)"),
    ("pg_set", "CR0.PG=1: EFER.LMA=1, compatibility mode (CS still 32-bit)"),
    ("lm_entry", "the far jump loaded CS=SEL_CODE64: 64-bit long mode"),
    ("kmain", "the C kernel starts"),
]
NAMES = [name for name, _ in TRANSITIONS]
MEANING = dict(TRANSITIONS)

# Labels without MAGIC_BREAK: the tools put breakpoints on them instead.
BREAKPOINT_ONLY = ("boot_start", "kmain")
# The kernel's last function: writes DEBUG_EXIT_SUCCESS to port 0xf4 and
# halts with interrupts off. Tours stop here to read the screen (a `c` past
# it would never come back: cli; hlt).
END = "debug_exit"
# Where the boot code and kernel go when something fails; a stop there ends
# a tour early with the reason. Only those present in the symbols are used.
# boot_fail prints the reason with the BIOS and halts; exception_handler is
# the kernel's C handler for CPU exceptions; the .halt labels are the
# assembly fallbacks should C ever return.
FAILURES = ("boot_fail", "exception_handler", "lm_entry.halt", "isr_common.halt")

MAGIC_SIZES = (2, 3)


def read_symbols(paths):
    """{name: address} from ldsym files ("hexaddr name" lines, no 0x)."""
    table = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    table.setdefault(parts[1], int(parts[0], 16))
    return table


def check_symbols(table):
    missing = [n for n in NAMES + [END] if n not in table]
    if missing:
        raise KeyError("symbols missing from the .sym files: " + ", ".join(missing))


def transition_at(table, addr, magic):
    """The transition a stop at linear `addr` belongs to, or None.

    A magic breakpoint stops 2 or 3 bytes after its label; a breakpoint
    (lb) stops on the label itself."""
    for name in NAMES:
        where = table.get(name)
        if where is None:
            continue
        if (magic and addr - where in MAGIC_SIZES) or (not magic and addr == where):
            return name
    return None


def nearest_symbol(table, addr):
    """"name+0xoff" for the closest symbol at or below addr (for messages)."""
    best = None
    for name, where in table.items():
        if where <= addr and (best is None or where > best[1]):
            best = (name, where)
    if best is None:
        return hex(addr)
    off = addr - best[1]
    return best[0] + (f"+{off:#x}" if off else "")
