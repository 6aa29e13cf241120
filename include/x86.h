// x86.h: what the CPU defines (not this project): control-register, EFLAGS and
// MSR bits, descriptor and paging-entry fields, named as in the Intel SDM
// (Vol. 3A unless noted); and, at the end, the one PC device every boot
// shows, the VGA text screen. bootlab.h includes it for the boot code and the
// kernel; the Python tools read the same file (bootlab/x86/sdm.py), so every
// bit exists once, in C, NASM and Python alike.
//
// Same restricted form as bootlab.h: "#define NAME value" lines whose values
// both C and NASM accept (no suffixes, no casts; bit 31 and up as hex, so C
// never shifts into the sign bit), and "//" comments.
#ifndef X86_H
#define X86_H

// ---- CR0, SDM 2.5 "Control Registers", Figure 2-7 ---------------------------
#define CR0_PE              (1 << 0)   // protection enable: 0 = real mode
#define CR0_MP              (1 << 1)   // monitor coprocessor
#define CR0_EM              (1 << 2)   // x87 emulation
#define CR0_TS              (1 << 3)   // task switched
#define CR0_ET              (1 << 4)   // extension type (1 since the 486)
#define CR0_NE              (1 << 5)   // numeric error
#define CR0_WP              (1 << 16)  // supervisor writes honour R/W
#define CR0_AM              (1 << 18)  // alignment mask
#define CR0_NW              (1 << 29)  // not write-through (firmware's business)
#define CR0_CD              (1 << 30)  // cache disable (firmware's business)
#define CR0_PG              0x80000000 // paging (bit 31)

// ---- CR3, SDM 4.3 (32-bit), 4.4.1 (PAE), 4.5.2 (4-level) --------------------
#define CR3_PWT             (1 << 3)   // write-through for the top table
#define CR3_PCD             (1 << 4)   // cache disable for the top table
#define CR3_PCID_MASK       0xfff      // with CR4.PCIDE=1 the low 12 bits are a PCID
#define CR3_PAE_PDPT_MASK   0xffffffe0 // PAE: the PDPT is 32-byte aligned

// ---- CR4, SDM 2.5, Figure 2-7 -----------------------------------------------
#define CR4_VME             (1 << 0)   // virtual-8086 mode extensions
#define CR4_PVI             (1 << 1)   // protected-mode virtual interrupts
#define CR4_TSD             (1 << 2)   // time stamp disable
#define CR4_DE              (1 << 3)   // debugging extensions
#define CR4_PSE             (1 << 4)   // 4 MiB pages with 32-bit paging
#define CR4_PAE             (1 << 5)   // physical address extension
#define CR4_MCE             (1 << 6)   // machine-check enable
#define CR4_PGE             (1 << 7)   // global pages
#define CR4_PCE             (1 << 8)   // performance counters at any CPL
#define CR4_OSFXSR          (1 << 9)   // FXSAVE/FXRSTOR supported by the OS
#define CR4_OSXMMEXCPT      (1 << 10)  // unmasked SIMD FP exceptions
#define CR4_UMIP            (1 << 11)  // user-mode instruction prevention
#define CR4_LA57            (1 << 12)  // 57-bit linear addresses: 5-level paging
#define CR4_VMXE            (1 << 13)  // VMX enable
#define CR4_SMXE            (1 << 14)  // SMX enable
#define CR4_FSGSBASE        (1 << 16)  // RDFSBASE and co.
#define CR4_PCIDE           (1 << 17)  // process-context identifiers
#define CR4_OSXSAVE         (1 << 18)  // XSAVE enabled
#define CR4_SMEP            (1 << 20)  // supervisor-mode execution prevention
#define CR4_SMAP            (1 << 21)  // supervisor-mode access prevention
#define CR4_PKE             (1 << 22)  // protection keys for user pages

// ---- MSRs, SDM Vol. 4 ------------------------------------------------------------
#define MSR_EFER            0xc0000080 // IA32_EFER, SDM 2.2.1, Table 2-1
#define EFER_SCE            (1 << 0)   // SYSCALL enable
#define EFER_LME            (1 << 8)   // long mode enable (effective with CR0.PG)
#define EFER_LMA            (1 << 10)  // long mode active (set by the CPU)
#define EFER_NXE            (1 << 11)  // execute-disable bit in paging entries
// The other architectural MSRs a debugger may want (SDM Vol. 4, Table 2-2).
// QEMU 7.2's gdbstub shows only EFER and the three base registers among them
// (bootlab/x86/msr.py says why the rest cannot be read).
#define MSR_TSC             0x10       // IA32_TIME_STAMP_COUNTER
#define MSR_APIC_BASE       0x1b       // IA32_APIC_BASE, SDM 10.4.4
#define MSR_SYSENTER_CS     0x174      // IA32_SYSENTER_CS
#define MSR_SYSENTER_ESP    0x175      // IA32_SYSENTER_ESP
#define MSR_SYSENTER_EIP    0x176      // IA32_SYSENTER_EIP
#define MSR_MISC_ENABLE     0x1a0      // IA32_MISC_ENABLE
#define MSR_PAT             0x277      // IA32_PAT
#define MSR_STAR            0xc0000081 // IA32_STAR: SYSCALL/SYSRET selectors
#define MSR_LSTAR           0xc0000082 // IA32_LSTAR: SYSCALL target in 64-bit mode
#define MSR_CSTAR           0xc0000083 // IA32_CSTAR: SYSCALL target in compatibility mode
#define MSR_FMASK           0xc0000084 // IA32_FMASK: RFLAGS mask on SYSCALL
#define MSR_FS_BASE         0xc0000100 // IA32_FS_BASE
#define MSR_GS_BASE         0xc0000101 // IA32_GS_BASE
#define MSR_KERNEL_GS_BASE  0xc0000102 // IA32_KERNEL_GS_BASE: what SWAPGS swaps in
#define MSR_TSC_AUX         0xc0000103 // IA32_TSC_AUX
// IA32_APIC_BASE fields, SDM 10.4.4, Figure 10-5.
#define APIC_BASE_BSP       (1 << 8)   // this CPU is the bootstrap processor
#define APIC_BASE_EXTD      (1 << 10)  // x2APIC mode: registers are MSRs 0x800-0x8ff
#define APIC_BASE_EN        (1 << 11)  // APIC globally enabled
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000 // bits MAXPHYADDR-1:12: the 4 KiB register page
#define APIC_DEFAULT_BASE   0xfee00000 // where every APIC's page is after reset

// ---- EFLAGS, SDM Vol. 1 3.4.3 -----------------------------------------------------
#define EFLAGS_CF           (1 << 0)   // carry: the BIOS reports failure in it
#define EFLAGS_IF           (1 << 9)   // interrupts enabled
#define EFLAGS_VM           (1 << 17)  // virtual-8086 mode
#define EFLAGS_ID           (1 << 21)  // writable only when CPUID exists

// ---- CPUID, SDM Vol. 2A "CPUID" -----------------------------------------------------
#define CPUID_EXT_MAX       0x80000000 // leaf: highest extended leaf
#define CPUID_EXT_FEATURES  0x80000001 // leaf: extended features
#define CPUID_EDX_LM        (1 << 29)  // ... EDX bit 29: long mode
#define CPUID_FEATURES      0x1        // leaf: version and feature information
#define CPUID_EDX_APIC      (1 << 9)   // ... EDX bit 9: a local APIC on the chip

// ---- Segment and system descriptors, SDM 3.4.5 (Figure 3-8), 3.5 -----------------
// Bit positions in the descriptor's high doubleword (bits 63:32). QEMU's
// `info registers` prints exactly this doubleword (base bits cleared) as the
// "flags" of each segment register.
#define DESC_TYPE_SHIFT     8          // the 4-bit type field, Tables 3-1 and 3-2
#define DESC_TYPE_MASK      0xf
#define DESC_TYPE_ACCESSED  (1 << 8)   // code/data: accessed
#define DESC_TYPE_RW        (1 << 9)   // data: writable; code: readable
#define DESC_TYPE_DC        (1 << 10)  // data: expand-down; code: conforming
#define DESC_TYPE_CODE      (1 << 11)  // code (1) or data (0)
#define DESC_S              (1 << 12)  // 1 = code/data, 0 = system descriptor
#define DESC_DPL_SHIFT      13
#define DESC_DPL_MASK       3
#define DESC_P              (1 << 15)  // present
#define DESC_AVL            (1 << 20)  // available to software
#define DESC_L              (1 << 21)  // 64-bit code segment (SDM 5.2.1)
#define DESC_DB             (1 << 22)  // default operand size 32-bit
#define DESC_G              (1 << 23)  // limit counts 4 KiB units
#define DESC_LIMIT_MAX      0xfffff    // 20 bits of limit
#define DESC_SIZE           8          // a code/data descriptor, 8 bytes
#define DESC_SIZE_LONG_SYS  16         // an IA-32e system descriptor or gate (SDM 7.2.3)
#define GDT_MAX_ENTRIES     8192       // a selector's 13-bit index
// System-descriptor and gate types (the type field with S=0), Table 3-2.
#define SYS_TYPE_LDT        0x2
#define SYS_TYPE_TASK_GATE  0x5        // legacy only
#define SYS_TYPE_TSS        0x9        // 32-bit TSS, or 64-bit TSS in IA-32e mode (available)
#define SYS_TYPE_TSS_BUSY   0xb
#define SYS_TYPE_CALL_GATE  0xc
#define SYS_TYPE_INT_GATE   0xe        // interrupt gate: clears IF (SDM 6.12.1.3)
#define SYS_TYPE_TRAP_GATE  0xf
#define GATE_IST_MASK       0x7        // IA-32e gates: bits 2:0 of the high dword (SDM 6.14.1)
#define IDT_VECTORS         256        // SDM 6.10: the IDT holds at most 256 gates
#define IVT_ENTRY_SIZE      4          // real mode: offset and segment (SDM 20.1.4)

// Task-state segments, SDM 7.2.1 (Figure 7-2, 32-bit), 7.7 (Figure 7-11,
// 64-bit) and 7.6 (the 16-bit TSS of the 80286): byte offsets of the fields a debugger
// shows; the I/O map base is the 16-bit word at offset 102 of both 32- and
// 64-bit TSSs (SDM 19.5.2: a base at or past the limit means no bitmap).
#define TSS32_ESP0          4
#define TSS32_SS0           8
#define TSS32_CR3           28
#define TSS32_EIP           32
#define TSS32_LDT           96
#define TSS32_TRAP          100        // bit 0: T, debug trap on a task switch to it
#define TSS_IOMAP_BASE      102
#define TSS32_SIZE          104        // the smallest 32-bit TSS: limit 0x67
#define TSS64_RSP0          4
#define TSS64_IST1          36         // IST1..IST7, 8 bytes each
#define TSS64_IST_COUNT     7
#define TSS64_SIZE          104
#define TSS16_SIZE          44         // 16-bit TSS, limit 0x2b
#define SYS_TYPE_TSS16      0x1
#define SYS_TYPE_TSS16_BUSY 0x3

// Selector fields, SDM 3.4.2, Figure 3-6.
#define SEL_RPL_MASK        3
#define SEL_TI              (1 << 2)   // 1: the selector indexes the LDT
#define SEL_INDEX_SHIFT     3

// ---- Paging-structure entries, SDM 4.3-4.5 (Tables 4-4 to 4-20) ------------------
#define PTE_P               (1 << 0)   // present
#define PTE_RW              (1 << 1)   // writable
#define PTE_US              (1 << 2)   // user-mode accessible
#define PTE_PWT             (1 << 3)   // page-level write-through
#define PTE_PCD             (1 << 4)   // page-level cache disable
#define PTE_A               (1 << 5)   // accessed
#define PTE_D               (1 << 6)   // dirty (leaf entries)
#define PTE_PS              (1 << 7)   // page size: the entry maps a large page
#define PTE_G               (1 << 8)   // global (leaf entries)
#define PTE_XD              0x8000000000000000 // execute-disable, bit 63, with EFER.NXE
#define PTE_ADDR_MASK       0x000ffffffffff000 // bits 51:12: next table or frame
#define PTE32_ADDR_MASK     0xfffff000 // 32-bit paging: bits 31:12
#define PDE32_4M_HIGH_SHIFT 13         // 32-bit 4 MiB page: PDE bits 20:13 = PA 39:32
#define PAGE_SIZE           0x1000     // 4 KiB
#define LARGE_PAGE_SIZE     0x200000   // 2 MiB: a PAE or 4-level PDE with PS=1
#define PT_ENTRIES          512        // 8-byte entries in a 4 KiB table

// ---- The local APIC in xAPIC mode, SDM Vol. 3A chapter 10 --------------------------
// IA32_APIC_BASE (MSR_APIC_BASE, APIC_BASE_*) is with the MSRs above.
// Register offsets in that page, SDM Table 10-1; each register is 32 bits
// wide on a 16-byte boundary and must be accessed as an aligned doubleword.
#define LAPIC_ID            0x020      // local APIC ID register
#define LAPIC_VERSION       0x030      // local APIC version register
#define LAPIC_SVR           0x0f0      // spurious-interrupt vector register
#define LAPIC_ESR           0x280      // error status register
#define LAPIC_ICR_LOW       0x300      // interrupt command register, bits 31:0 (writing it sends)
#define LAPIC_ICR_HIGH      0x310      // interrupt command register, bits 63:32
#define LAPIC_ID_SHIFT      24         // the APIC ID is bits 31:24 of LAPIC_ID (Figure 10-6)
#define LAPIC_REGS_SIZE     0x1000     // the register page
// The interrupt command register, SDM 10.6.1, Figure 10-12. Bits of ICR_LOW:
#define ICR_VECTOR_MASK     0xff       // bits 7:0: the vector (Start-Up: the page number)
#define ICR_DM_FIXED        (0 << 8)   // delivery mode, bits 10:8
#define ICR_DM_LOWEST       (1 << 8)   //   lowest priority
#define ICR_DM_SMI          (2 << 8)
#define ICR_DM_NMI          (4 << 8)
#define ICR_DM_INIT         (5 << 8)   //   INIT (also INIT level de-assert, with ICR_LEVEL 0)
#define ICR_DM_STARTUP      (6 << 8)   //   Start-Up (SIPI)
#define ICR_DEST_LOGICAL    (1 << 11)  // destination mode: 0 physical (an APIC ID), 1 logical
#define ICR_SEND_PENDING    (1 << 12)  // delivery status (read-only): 1 = not yet accepted
#define ICR_LEVEL_ASSERT    (1 << 14)  // level: 1 = assert (0 only for INIT level de-assert)
#define ICR_TRIGGER_LEVEL   (1 << 15)  // trigger mode: 0 edge, 1 level (INIT de-assert only)
#define ICR_DEST_SELF       (1 << 18)  // destination shorthand, bits 19:18 (0: the field)
#define ICR_DEST_ALL        (2 << 18)  //   all including self
#define ICR_DEST_OTHERS     (3 << 18)  //   all excluding self
#define ICR_DEST_SHIFT      24         // ICR_HIGH bits 31:24: the destination APIC ID
// Multiple-processor initialization, SDM 8.4.4.1 (and 10.6.1 "Start-Up"):
// INIT, wait 10 ms, Start-Up IPI, wait 200 us, Start-Up IPI, wait 200 us.
// The AP then starts in real mode at CS:IP = VV00:0000, linear VV000H, where
// VV is the vector of the Start-Up IPI: a 4 KiB page number below 1 MiB.
#define MP_INIT_WAIT_US     10000      // after INIT
#define MP_SIPI_WAIT_US     200        // after each Start-Up IPI
#define MP_SIPI_COUNT       2          // Start-Up IPIs: the second is for an AP that missed the first
#define SIPI_PAGE_SHIFT     12         // start address = vector << 12
#define SIPI_CS_SHIFT       8          // and CS = vector << 8 (vector << 12 >> REAL_SEG_SHIFT)
// The other registers and their fields, SDM Table 10-1 and 10.5.1 (bl apic):
#define LAPIC_TPR           0x80       // task priority
#define LAPIC_APR           0x90       // arbitration priority
#define LAPIC_PPR           0xa0       // processor priority
#define LAPIC_EOI           0xb0       // write-only
#define LAPIC_LDR           0xd0       // logical destination
#define LAPIC_DFR           0xe0       // destination format
#define LAPIC_ISR           0x100      // in-service, 8 registers of 32 bits, 16 bytes apart
#define LAPIC_TMR           0x180      // trigger mode, 8 registers
#define LAPIC_IRR           0x200      // interrupt request, 8 registers
#define LAPIC_LVT_CMCI      0x2f0
#define LAPIC_LVT_TIMER     0x320
#define LAPIC_LVT_THERMAL   0x330
#define LAPIC_LVT_PERF      0x340
#define LAPIC_LVT_LINT0     0x350
#define LAPIC_LVT_LINT1     0x360
#define LAPIC_LVT_ERROR     0x370
#define LAPIC_TIMER_INITIAL 0x380      // initial count
#define LAPIC_TIMER_CURRENT 0x390      // current count
#define LAPIC_TIMER_DIVIDE  0x3e0      // divide configuration
#define LAPIC_REG_STRIDE    0x10       // registers sit on 16-byte boundaries
#define LAPIC_SVR_ENABLE    (1 << 8)   // SVR: APIC software enable
#define LAPIC_SVR_FOCUS_OFF (1 << 9)   // SVR: focus processor checking disabled
#define LAPIC_LVT_VECTOR    0xff
#define LAPIC_LVT_DELIVERY_SHIFT 8      // bits 10:8 delivery mode
#define LAPIC_LVT_PENDING   (1 << 12)  // delivery status: send pending
#define LAPIC_LVT_LEVEL     (1 << 15)  // trigger mode: level (LINT0/LINT1)
#define LAPIC_LVT_MASKED    (1 << 16)
#define LAPIC_LVT_TIMER_SHIFT 17        // bits 18:17 timer mode

// ---- Real mode, SDM 20.1.1 ------------------------------------------------------------
#define REAL_SEG_SHIFT      4          // linear = segment * 16 + offset

// ---- The PC around the CPU: VGA colour text mode 3 (IBM VGA reference) --------------
#define VGA_TEXT_ADDR       0xb8000    // 80 x 25 cells of (character, attribute)
#define VGA_COLS            80
#define VGA_ROWS            25

#endif
