"""Architectural constants, named as in the Intel SDM (Vol. 3A unless noted).

Only what the CPU defines lives here; nothing about any particular guest.
The same names (CR0_PE, EFER_LMA, ...) are used by include/bootlab.h, and a
test checks that the two agree.
"""

# ---- CR0, SDM 2.5 "Control Registers", Figure 2-7 ---------------------------
CR0_PE = 1 << 0    # Protection Enable: 0 = real mode
CR0_MP = 1 << 1    # Monitor Coprocessor
CR0_EM = 1 << 2    # Emulation (no x87)
CR0_TS = 1 << 3    # Task Switched
CR0_ET = 1 << 4    # Extension Type (hard-wired 1 since the 486)
CR0_NE = 1 << 5    # Numeric Error
CR0_WP = 1 << 16   # Write Protect (supervisor writes honour R/W)
CR0_AM = 1 << 18   # Alignment Mask
CR0_NW = 1 << 29   # Not Write-through
CR0_CD = 1 << 30   # Cache Disable
CR0_PG = 1 << 31   # Paging

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

# ---- CR3, SDM 4.3 (32-bit), 4.4.1 (PAE), 4.5.2 (4-level) --------------------
CR3_PWT = 1 << 3   # page-level write-through for the top table
CR3_PCD = 1 << 4   # page-level cache disable for the top table
CR3_PCID_MASK = 0xfff          # with CR4.PCIDE=1 the low 12 bits are a PCID
CR3_PAE_PDPT_MASK = 0xffffffe0  # PAE: the PDPT is 32-byte aligned (SDM 4.4.1)

# ---- CR4, SDM 2.5, Figure 2-7 ----------------------------------------------
CR4_VME = 1 << 0          # virtual-8086 mode extensions
CR4_PVI = 1 << 1          # protected-mode virtual interrupts
CR4_TSD = 1 << 2          # time stamp disable
CR4_DE = 1 << 3           # debugging extensions
CR4_PSE = 1 << 4          # page size extensions (4 MiB pages, 32-bit paging)
CR4_PAE = 1 << 5          # physical address extension
CR4_MCE = 1 << 6          # machine-check enable
CR4_PGE = 1 << 7          # page global enable
CR4_PCE = 1 << 8          # performance-monitoring counter enable
CR4_OSFXSR = 1 << 9       # OS supports FXSAVE/FXRSTOR
CR4_OSXMMEXCPT = 1 << 10  # OS supports unmasked SIMD exceptions
CR4_UMIP = 1 << 11        # user-mode instruction prevention
CR4_LA57 = 1 << 12        # 57-bit linear addresses (5-level paging)
CR4_VMXE = 1 << 13        # VMX enable
CR4_SMXE = 1 << 14        # SMX enable
CR4_FSGSBASE = 1 << 16    # RDFSBASE & co.
CR4_PCIDE = 1 << 17       # process-context identifiers
CR4_OSXSAVE = 1 << 18     # XSAVE and processor extended states
CR4_SMEP = 1 << 20        # supervisor-mode execution prevention
CR4_SMAP = 1 << 21        # supervisor-mode access prevention
CR4_PKE = 1 << 22         # protection keys (user pages)

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

# ---- IA32_EFER (MSR C000_0080h), SDM 2.2.1, Table 2-1 ----------------------
MSR_EFER = 0xc0000080
EFER_SCE = 1 << 0    # SYSCALL enable
EFER_LME = 1 << 8    # long mode enable (takes effect when CR0.PG is set)
EFER_LMA = 1 << 10   # long mode active (read-only, set by the CPU)
EFER_NXE = 1 << 11   # execute-disable bit enable (bit 63 of paging entries)

EFER_BITS = [
    ("SCE", EFER_SCE, "SYSCALL enable"),
    ("LME", EFER_LME, "long mode enable"),
    ("LMA", EFER_LMA, "long mode active"),
    ("NXE", EFER_NXE, "no-execute enable"),
]

# ---- EFLAGS, SDM Vol. 1 3.4.3 ----------------------------------------------
EFLAGS_IF = 1 << 9    # interrupt enable
EFLAGS_VM = 1 << 17   # virtual-8086 mode

# ---- Segment descriptors, SDM 3.4.5, Figure 3-8 -----------------------------
# Positions inside the descriptor's high dword. QEMU prints exactly this dword
# (with the base bits cleared) as the "flags" column of `info registers`.
DESC_TYPE_SHIFT = 8          # 4-bit type field (Table 3-1 / Table 3-2)
DESC_TYPE_MASK = 0xf
DESC_TYPE_ACCESSED = 1 << 0  # code/data: accessed
DESC_TYPE_RW = 1 << 1        # data: writable; code: readable
DESC_TYPE_DC = 1 << 2        # data: expand-down; code: conforming
DESC_TYPE_CODE = 1 << 3      # code (1) or data (0)
DESC_S = 1 << 12             # 1 = code/data, 0 = system descriptor
DESC_DPL_SHIFT = 13
DESC_DPL_MASK = 3
DESC_P = 1 << 15             # present
DESC_AVL = 1 << 20           # available to software
DESC_L = 1 << 21             # 64-bit code segment (SDM 5.2.1)
DESC_DB = 1 << 22            # default operand size: 1 = 32-bit
DESC_G = 1 << 23             # granularity: limit counts 4 KiB units

# System-descriptor types, SDM 3.5 Table 3-2 (32-bit / 64-bit meaning).
SYS_TYPES_LEGACY = {
    0x1: "TSS16 avail", 0x2: "LDT", 0x3: "TSS16 busy", 0x4: "call gate16",
    0x5: "task gate", 0x6: "int gate16", 0x7: "trap gate16",
    0x9: "TSS32 avail", 0xb: "TSS32 busy", 0xc: "call gate32",
    0xe: "int gate32", 0xf: "trap gate32",
}
SYS_TYPES_LONG = {
    0x2: "LDT", 0x9: "TSS64 avail", 0xb: "TSS64 busy", 0xc: "call gate64",
    0xe: "int gate64", 0xf: "trap gate64",
}
SEL_RPL_MASK = 3     # selector bits 1:0, SDM 3.4.2
SEL_TI = 1 << 2      # selector table indicator: 1 = LDT

# ---- Paging-structure entries, SDM 4.3 / 4.4 / 4.5 (Tables 4-4 .. 4-20) ------
PTE_P = 1 << 0       # present
PTE_RW = 1 << 1      # writable
PTE_US = 1 << 2      # user-mode accessible
PTE_PWT = 1 << 3     # page-level write-through
PTE_PCD = 1 << 4     # page-level cache disable
PTE_A = 1 << 5       # accessed
PTE_D = 1 << 6       # dirty (leaf entries)
PTE_PS = 1 << 7      # page size: this entry maps a large page
PTE_G = 1 << 8       # global (leaf entries)
PTE_XD = 1 << 63     # execute-disable, only with EFER.NXE (PAE / 4-level)
PTE_ADDR_MASK = 0x000ffffffffff000   # bits 51:12, the next table or the frame
PTE32_ADDR_MASK = 0xfffff000         # 32-bit paging: bits 31:12
PDE32_4M_HIGH_SHIFT = 13             # 32-bit 4 MiB page: bits 20:13 = PA 39:32

PTE_BITS = [
    ("P", PTE_P), ("RW", PTE_RW), ("US", PTE_US), ("PWT", PTE_PWT),
    ("PCD", PTE_PCD), ("A", PTE_A), ("D", PTE_D), ("PS", PTE_PS),
    ("G", PTE_G), ("XD", PTE_XD),
]

# ---- Real mode --------------------------------------------------------------
REAL_SEG_SHIFT = 4   # linear = segment * 16 + offset (SDM 20.1.1)

# ---- VGA text mode (IBM VGA reference; not in the SDM) ---------------------
VGA_TEXT_PHYS = 0xb8000
VGA_COLS = 80
VGA_ROWS = 25
