"""Architectural constants, named as in the Intel SDM (Vol. 3A unless noted).

The values come from include/x86.h, the one place they are written down
(the boot code and the kernel include the same file); this module adds what
only a debugger needs: the names and meanings of each register's bits, for
decoding. Only what the CPU defines lives here, nothing about any guest.
"""
import os

from .. import header

globals().update(header.read(os.path.join(header.INCLUDE, "x86.h")))

# Bit tables: (name, bit, meaning), lowest bit first.
CR0_BITS = [
    ("PE", CR0_PE, "protection enable (0 = real mode)"),
    ("MP", CR0_MP, "monitor coprocessor"),
    ("EM", CR0_EM, "x87 emulation"),
    ("TS", CR0_TS, "task switched"),
    ("ET", CR0_ET, "extension type"),
    ("NE", CR0_NE, "numeric error"),
    ("WP", CR0_WP, "write protect"),
    ("AM", CR0_AM, "alignment mask"),
    ("NW", CR0_NW, "not write-through"),
    ("CD", CR0_CD, "cache disable"),
    ("PG", CR0_PG, "paging"),
]

CR4_BITS = [
    ("VME", CR4_VME, "virtual-8086 mode extensions"),
    ("PVI", CR4_PVI, "protected-mode virtual interrupts"),
    ("TSD", CR4_TSD, "time stamp disable"),
    ("DE", CR4_DE, "debugging extensions"),
    ("PSE", CR4_PSE, "page size extensions"),
    ("PAE", CR4_PAE, "physical address extension"),
    ("MCE", CR4_MCE, "machine-check enable"),
    ("PGE", CR4_PGE, "page global enable"),
    ("PCE", CR4_PCE, "performance counter enable"),
    ("OSFXSR", CR4_OSFXSR, "FXSAVE/FXRSTOR support"),
    ("OSXMMEXCPT", CR4_OSXMMEXCPT, "unmasked SIMD FP exceptions"),
    ("UMIP", CR4_UMIP, "user-mode instruction prevention"),
    ("LA57", CR4_LA57, "5-level paging"),
    ("VMXE", CR4_VMXE, "VMX enable"),
    ("SMXE", CR4_SMXE, "SMX enable"),
    ("FSGSBASE", CR4_FSGSBASE, "RDFSBASE/WRFSBASE enable"),
    ("PCIDE", CR4_PCIDE, "PCID enable"),
    ("OSXSAVE", CR4_OSXSAVE, "XSAVE enable"),
    ("SMEP", CR4_SMEP, "supervisor execution prevention"),
    ("SMAP", CR4_SMAP, "supervisor access prevention"),
    ("PKE", CR4_PKE, "protection keys"),
]

EFER_BITS = [
    ("SCE", EFER_SCE, "SYSCALL enable"),
    ("LME", EFER_LME, "long mode enable"),
    ("LMA", EFER_LMA, "long mode active"),
    ("NXE", EFER_NXE, "no-execute enable"),
]

PTE_BITS = [
    ("P", PTE_P), ("RW", PTE_RW), ("US", PTE_US), ("PWT", PTE_PWT),
    ("PCD", PTE_PCD), ("A", PTE_A), ("D", PTE_D), ("PS", PTE_PS),
    ("G", PTE_G), ("XD", PTE_XD),
]

# System-descriptor types, SDM 3.5 Table 3-2: their meaning outside and in
# IA-32e mode (where 16-bit gates and task gates no longer exist).
SYS_TYPES_LEGACY = {
    0x1: "TSS16 avail", SYS_TYPE_LDT: "LDT", 0x3: "TSS16 busy", 0x4: "call gate16",
    SYS_TYPE_TASK_GATE: "task gate", 0x6: "int gate16", 0x7: "trap gate16",
    SYS_TYPE_TSS: "TSS32 avail", SYS_TYPE_TSS_BUSY: "TSS32 busy",
    SYS_TYPE_CALL_GATE: "call gate32", SYS_TYPE_INT_GATE: "int gate32",
    SYS_TYPE_TRAP_GATE: "trap gate32",
}
SYS_TYPES_LONG = {
    SYS_TYPE_LDT: "LDT", SYS_TYPE_TSS: "TSS64 avail", SYS_TYPE_TSS_BUSY: "TSS64 busy",
    SYS_TYPE_CALL_GATE: "call gate64", SYS_TYPE_INT_GATE: "int gate64",
    SYS_TYPE_TRAP_GATE: "trap gate64",
}
# Gate types an IDT may hold (SDM 6.11, 6.14.1): task, 16/32-bit interrupt and
# trap gates outside IA-32e mode; only 64-bit interrupt and trap gates in it.
IDT_GATES_LEGACY = (SYS_TYPE_TASK_GATE, 0x6, 0x7, SYS_TYPE_INT_GATE, SYS_TYPE_TRAP_GATE)
IDT_GATES_LONG = (SYS_TYPE_INT_GATE, SYS_TYPE_TRAP_GATE)

X86_MAX_INSN = 15        # longest instruction, SDM Vol. 2A 2.3.11
