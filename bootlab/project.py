"""This project, as the tools need to know it: where things are, the values
include/bootlab.h chose, and the boot path's milestones.

The milestones are the boot's transitions, in order: each a global label in
boot/ or kernel/ (the README's boot-path table). All but boot_start (the
BIOS jumps there) and kmain (C) begin with MAGIC_BREAK (`xchg bx, bx`,
boot/macros.inc), where Bochs stops right *after* the instruction: 2 bytes
past the label in 16-bit code, 3 in 32- and 64-bit code (66 87 db).
"""
import functools
import os
from pathlib import Path

from . import header

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CONFIGS = ROOT / "configs"
ELF_FILES = ("boot16.elf", "boot32.elf", "kernel.elf")       # one per CPU mode
SYMBOL_FILES = tuple(e.replace(".elf", ".sym") for e in ELF_FILES)  # Bochs' ldsym


@functools.lru_cache(maxsize=None)
def constants():
    """{NAME: int} of include/bootlab.h (and x86.h, which it includes)."""
    return header.read(os.path.join(header.INCLUDE, "bootlab.h"))


def const(*names):
    """One value, or a list of values, of include/bootlab.h."""
    values = [constants()[n] for n in names]
    return values[0] if len(values) == 1 else values


def elf_paths(build=BUILD):
    return [Path(build) / e for e in ELF_FILES]


def symbol_paths(build=BUILD):
    return [Path(build) / s for s in SYMBOL_FILES]


class Milestone:
    def __init__(self, name, title, meaning, story="", show=()):
        self.name = name          # the label
        self.title = title        # a heading, as the tour prints it
        self.meaning = meaning    # one line: what has just become true there
        self.story = story        # the tour's few lines about it
        self.show = list(show)    # GDB commands that show the state there


MILESTONES = [
    Milestone("boot_start", "The BIOS hands over at 0x7c00",
              "the BIOS jumped to the boot sector at 0x7c00 (real mode)",
              "SeaBIOS loaded sector 0 to 0x7c00 and jumped to it, in real mode, with the\n"
              "boot drive in DL (0x80 = first hard disk).",
              ["info registers cs dl", "bl seg"]),
    Milestone("stage2_loaded", "Stage 2 and the kernel are in memory",
              "the boot sector read stage 2 and the kernel from disk",
              "Two INT 13h AH=42h reads put stage 2 at 0x7e00 and the kernel at 0x10000.\n"
              "The first bytes of each:",
              ["bl phys 0x7e00 16", "bl phys 0x10000 16"]),
    Milestone("stage2_start", "Stage 2 runs",
              "stage 2 runs at 0x7e00 (real mode)",
              "The boot sector jumped past its 512 bytes, into the code it just loaded.", []),
    Milestone("a20_enabled", "A20 is on",
              "the A20 gate is on: addresses above 1 MiB do not wrap",
              "Address line 20 no longer wraps: 0x100500 and 0x500 are different bytes now.",
              ["bl phys 0x500 2", "bl phys 0x100500 2"]),
    Milestone("e820_done", "The BIOS memory map is collected",
              "the BIOS memory map (E820) is saved for the kernel",
              "INT 15h E820h wrote the map into boot_info (0x4000) for the kernel.",
              ["print/x *(unsigned short *)(0x4000 + 6)"]),
    Milestone("long_mode_supported", "CPUID says this CPU has long mode",
              "CPUID says this CPU has long mode"),
    Milestone("gdt_loaded", "The GDT is loaded",
              "LGDT done: GDTR points at bootlab's GDT",
              "LGDT gave the CPU the table; nothing uses it until a segment register\n"
              "is loaded. The descriptors, decoded:",
              ["bl gdt"]),
    Milestone("pe_set", "CR0.PE is set",
              "CR0.PE=1, but CS still holds its real-mode cache (16-bit code)",
              "The CPU is in protected mode now, but CS still holds its real-mode\n"
              "cache: it keeps decoding 16-bit code until the far jump reloads CS.",
              ["bl cr", "bl seg"]),
    Milestone("pm_entry", "The first 32-bit protected-mode instruction",
              "the far jump loaded CS=SEL_CODE32: 32-bit protected mode",
              "The far jump loaded CS with selector 0x08: a 32-bit code descriptor.",
              ["bl seg"]),
    Milestone("page_tables_built", "Identity page tables are built",
              "PML4/PDPT/PD built, identity map of the first 1 GiB",
              "PML4 -> PDPT -> PD at 0x1000-0x3fff map the first 1 GiB with 2 MiB pages.",
              ["bl phys 0x3000 32"]),
    Milestone("pae_enabled", "CR4.PAE is set", "CR4.PAE=1",
              "Long mode needs the 64-bit (PAE) entry format."),
    Milestone("cr3_loaded", "CR3 points at the PML4", "CR3 = the PML4",
              "Paging is still off: CR3 is only stored."),
    Milestone("lme_set", "EFER.LME is set",
              "EFER.LME=1 (long mode enabled, not yet active)",
              "Long mode is enabled but not active (EFER.LMA = 0) until paging is on.",
              ["bl cr"]),
    Milestone("pg_set", "CR0.PG is set: long mode is active",
              "CR0.PG=1: EFER.LMA=1, compatibility mode (CS still 32-bit)",
              "The CPU set EFER.LMA. CS still holds the 32-bit descriptor, so this is\n"
              "compatibility mode. Every address is now translated; 0xb8000 walks to:",
              ["bl walk 0xb8000"]),
    Milestone("lm_entry", "The first 64-bit instruction",
              "the far jump loaded CS=SEL_CODE64: 64-bit long mode",
              "The far jump loaded CS with selector 0x18 (L=1): 64-bit mode.",
              ["bl seg"]),
    Milestone("kmain", "The C kernel starts", "the C kernel starts",
              "lm_entry set up the stack, cleared .bss and called kmain(info) with the\n"
              "boot_info pointer in RDI, as the System V AMD64 ABI passes it.",
              ["bt", "info args"]),
]
NAMES = [m.name for m in MILESTONES]
BY_NAME = {m.name: m for m in MILESTONES}
MEANING = {m.name: m.meaning for m in MILESTONES}
# Labels without MAGIC_BREAK: tools put breakpoints on them instead.
BREAKPOINT_ONLY = ("boot_start", "kmain")
# The kernel's last function: writes DEBUG_EXIT_SUCCESS to port 0xf4 and
# halts with interrupts off. Tours stop here to read the screen.
END = "debug_exit"
# Where the boot code and kernel go when something fails; a stop there ends
# a tour early with the reason. boot_fail prints the reason with the BIOS
# and halts; exception_handler is the kernel's C handler for CPU exceptions;
# the .halt labels are the assembly fallbacks should C ever return.
FAILURES = {
    "boot_fail": "the boot code stopped with an error message",
    "exception_handler": "the kernel took a CPU exception (panic screen)",
    "lm_entry.halt": "kmain returned",
    "isr_common.halt": "the exception handler returned",
}
MAGIC_SIZES = (2, 3)

# SMP builds (make SMP=N, kernel/smp/): each application processor's own
# walk, once the BSP's Start-Up IPIs woke it. All but ap_main (C) begin with
# MAGIC_BREAK. The trampoline's labels (ap_start ... ap_pg_set) run in the
# page at TRAMPOLINE_ADDR, the rest in the kernel; every AP passes them all.
AP_MILESTONES = [
    Milestone("ap_start", "An AP's first instruction",
              "the Start-Up IPI started this AP in real mode at VV00:0000 "
              "(CS = vector << 8, linear = vector << 12)",
              "CPU 0 sent INIT, then a Start-Up IPI with vector 0x0a: CPU 1 left its\n"
              "wait-for-SIPI state in real mode at 0a00:0000, CS = vector << 8 = 0x0a00,\n"
              "CS.base = vector * 4096 = 0xa000 (SDM Vol. 3A 8.4.4.1). GDB says SIGTRAP at\n"
              "0x0 because its $pc is IP alone; QEMU matched the breakpoint on CS.base + IP.\n"
              "CPU 0 meanwhile is in 64-bit C, in smp_start_aps() waiting for CPU 1. `bl cpus`\n"
              "shows both; every other bl command describes GDB's selected thread, CPU 1.\n"
              "(QEMU calls a CPU that is not in HLT \"running\", stopped or not.)",
              ["bl cpus", "info threads", "bl seg"]),
    Milestone("ap_gdt_loaded", "The AP has the BSP's GDT",
              "LGDT done on this AP, with the BSP's GDTR from the mailbox",
              "CPU 1's GDTR was the reset value (base 0, limit 0xffff): every CPU has its\n"
              "own. The far jump made CS = 0 (IP is now the address the code is linked at,\n"
              "as in boot.asm), and LGDT loaded the GDTR CPU 0 left in the mailbox: both\n"
              "CPUs now use one GDT, CPU 0's:",
              ["bl gdt"]),
    Milestone("ap_pe_set", "CR0.PE is set on the AP",
              "CR0.PE=1 on this AP, but CS still holds its real-mode cache",
              "As on CPU 0 at pe_set: protected mode, but CS still holds its real-mode\n"
              "cache. CR0 is this CPU's own: INIT left CD and NW set (0x60000010), where\n"
              "SeaBIOS had cleared them on CPU 0.",
              ["bl cr"]),
    Milestone("ap_pm_entry", "The AP's first 32-bit instruction",
              "the far jump loaded CS=SEL_CODE32: this AP is in 32-bit protected mode",
              "The far jump loaded CS with selector 0x08 of the shared GDT: 32-bit code.\n"
              "The two CPUs are in different modes at the same stop:",
              ["bl cpus"]),
    Milestone("ap_pg_set", "CR0.PG is set on the AP",
              "CR0.PG=1 on this AP, with the BSP's CR3: compatibility mode",
              "PAE, CR3, EFER.LME, then CR0.PG, in the order lmode.asm used on CPU 0.\n"
              "CR3 is CPU 0's PML4, from the mailbox: one set of page tables, one address\n"
              "space for both CPUs. CS is still 32-bit: compatibility mode.",
              ["bl cr"]),
    Milestone("ap_lm_entry", "The AP's first 64-bit instruction",
              "the far jump loaded CS=SEL_CODE64: this AP is in 64-bit mode",
              "The far jump loaded CS with selector 0x18 (L=1): CPU 1 runs 64-bit code,\n"
              "in the kernel proper, like CPU 0.",
              ["bl cpus"]),
    Milestone("ap_main", "The AP runs C", "this AP runs C, on a stack of its own",
              "ap_lm_entry loaded the data segments and CPU 0's IDT, took this CPU's stack\n"
              "from the mailbox and called ap_main(cpu), the CPU number in EDI. The stack\n"
              "is what a CPU must not share: RSP points into ap_stacks, 4 KiB per AP.",
              ["bt", "info args", "info symbol $rsp"]),
]
AP_NAMES = [m.name for m in AP_MILESTONES]
# Where an AP stays once it is online: cli; hlt, for good.
AP_PARK = "ap_park"


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


def transition_at(table, addr, magic, names=None):
    """The milestone (of names: the boot path's by default) a stop at linear
    `addr` belongs to, or None. A magic breakpoint stops 2 or 3 bytes after
    its label; a breakpoint on it."""
    for name in NAMES if names is None else names:
        where = table.get(name)
        if where is None:
            continue
        if (magic and addr - where in MAGIC_SIZES) or (not magic and addr == where):
            return name
    return None


def nearest_symbol(table, addr):
    """'name+0xoff' for the closest symbol at or below addr (for messages)."""
    best = None
    for name, where in table.items():
        if where <= addr and (best is None or where > best[1]):
            best = (name, where)
    if best is None:
        return hex(addr)
    off = addr - best[1]
    return best[0] + (f"+{off:#x}" if off else "")
