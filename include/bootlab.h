// bootlab.h: every fixed address, port, selector and control-register bit the
// boot code and the kernel use, defined once.
//
// The file is plain C preprocessor text in a restricted form that the Makefile
// also turns into build/gen/bootlab.inc for NASM (tools/h2inc.sh): only
// "#define NAME value" lines, "//" comments and the include guard. Values must
// be expressions both C and NASM accept (no U/L suffixes, no casts).
//
// What the CPU itself defines (control-register bits, descriptor and paging
// fields) is in x86.h, with the Intel SDM's names; this file holds what this
// project chose: its addresses, disk layout, selectors and ports.
#ifndef BOOTLAB_H
#define BOOTLAB_H

#include "x86.h"

// ---- Physical memory layout (all below 1 MiB, identity mapped later) -----
#define PML4_ADDR           0x1000  // page-map level 4, one 4 KiB table
#define PDPT_ADDR           0x2000  // page-directory-pointer table
#define PD_ADDR             0x3000  // page directory: 512 x 2 MiB = 1 GiB
#define BOOT_INFO_ADDR      0x4000  // struct boot_info handed to kmain
#define REAL_STACK_TOP      0x7c00  // real-mode stack grows down below us
#define BOOT_SECTOR_ADDR    0x7c00  // where every PC BIOS loads sector 0
#define STAGE2_ADDR         0x7e00  // real-mode part of stage 2 (sector 1)
#define PM32_ADDR           0x9000  // 32-bit protected-mode part of stage 2
#define STAGE2_END          0xa000  // first byte after stage 2
#define PM_STACK_TOP        0x7c00  // 32-bit code reuses the real-mode stack area
#define KERNEL_ADDR         0x10000 // the 64-bit kernel is linked and loaded here
#define KERNEL_MAX_SECTORS  512     // 256 KiB: the loader never reads more
#define KERNEL_END_LIMIT    0x80000 // kernel image + .bss must end below this
// SMP builds (make SMP=N): the APs' trampoline (kernel/smp/) is copied here.
// A Start-Up IPI can only name a 4 KiB page below 1 MiB; this is the first
// page after stage 2, which nothing uses once the kernel runs, and it ends
// below KERNEL_ADDR, so 16-bit code with DS = 0 reaches all of it.
#define TRAMPOLINE_ADDR     0xa000
#define TRAMPOLINE_VECTOR   (TRAMPOLINE_ADDR >> SIPI_PAGE_SHIFT) // 0x0a: the AP starts at 0a00:0000
#define TRAMPOLINE_SEG      (TRAMPOLINE_VECTOR << SIPI_CS_SHIFT) // its CS there

// ---- Disk layout (512-byte sectors, LBA) ----------------------------------
#define SECTOR_SIZE         512
#define SECTOR_SHIFT        9       // log2(SECTOR_SIZE)
#define STAGE2_LBA          1
#define STAGE2_SECTORS      ((STAGE2_END - STAGE2_ADDR) / SECTOR_SIZE)
#define KERNEL_LBA          (STAGE2_LBA + STAGE2_SECTORS)
#define BOOT_SIGNATURE      0xaa55  // bytes 0x55 0xaa at offsets 510-511
#define BOOT_CODE_MAX       (SECTOR_SIZE - 2) // boot sector bytes before the signature
// The image ends with one extra sector that starts with this marker; the boot
// sector checks it, because a BIOS may read past the end of a truncated disk
// image without an error (SeaBIOS only checks the first LBA of a request).
#define KERNEL_END_MAGIC    0x444e454b // 'KEND'

// ---- BIOS services --------------------------------------------------------
#define BIOS_VIDEO_INT      0x10
#define BIOS_TELETYPE       0x0e    // INT 10h AH=0Eh: write char, advance
#define BIOS_SYSTEM_INT     0x15
#define BIOS_A20_ENABLE     0x2401  // INT 15h AX=2401h: enable A20 gate
#define BIOS_E820           0xe820  // INT 15h EAX=E820h: memory map
#define E820_SMAP           0x534d4150 // 'SMAP', signature in EDX and EAX
#define E820_ENTRY_SIZE     24
#define E820_MAX_ENTRIES    32
#define BIOS_DISK_INT       0x13
#define BIOS_DISK_RESET     0x00
#define BIOS_EXT_CHECK      0x41    // INT 13h AH=41h, BX=55AAh
#define BIOS_EXT_MAGIC      0x55aa
#define BIOS_EXT_ANSWER     0xaa55  // BX after a successful AH=41h
#define BIOS_EXT_DAP        0x01    // CX bit 0: packet (AH=42h) access
#define BIOS_EXT_READ       0x42    // INT 13h AH=42h: extended read
#define DAP_SIZE            16
#define DISK_MAX_CHUNK      64      // sectors per AH=42h call (<127 for old BIOSes)
#define DISK_RETRIES        3

// ---- I/O ports --------------------------------------------------------------
#define PORT_A20_FAST       0x92    // System Control Port A
#define A20_FAST_BIT        0x02    // bit 1: A20 gate
#define A20_FAST_RESET      0x01    // bit 0: fast reset, never set it
#define A20_PROBE_ADDR      0x0500  // free word just above the BIOS data area
#define A20_PROBE_SEG       0xffff  // FFFF:0510 is linear 0x100500 = probe + 1 MiB
#define A20_PROBE_OFF       (A20_PROBE_ADDR + 0x10)
#define A20_WAIT_LOOPS      1000    // polls of the probe after the fast-port write
#define PORT_DEBUGCON       0xe9    // QEMU -debugcon, Bochs port_e9_hack
#define PORT_DEBUG_EXIT     0xf4    // QEMU isa-debug-exit: exit((v << 1) | 1)
#define DEBUG_EXIT_SUCCESS  0x10    // QEMU exit status 33
#define DEBUG_EXIT_FAILURE  0x11    // QEMU exit status 35
#define PORT_CRTC_INDEX     0x3d4   // VGA CRT controller (colour)
#define PORT_CRTC_DATA      0x3d5
#define CRTC_CURSOR_HIGH    0x0e
#define CRTC_CURSOR_LOW     0x0f
// The 8254 programmable interval timer (Intel 8254 datasheet) and the PC's
// System Control Port B (port 61h, "NMI status and control" in Intel's
// chipset datasheets): channel 2's gate and output, which SMP builds use to
// time the waits of the APs' start-up (kernel/smp/pit.c).
#define PIT_HZ              1193182 // input clock: 14.31818 MHz / 12
#define PORT_PIT_CH2        0x42    // counter 2 data
#define PORT_PIT_MODE       0x43    // control word
#define PIT_SEL_CH2         (2 << 6) // control word: select counter 2
#define PIT_RW_LOHI         (3 << 4) //   read/write the low byte, then the high byte
#define PIT_MODE_0          (0 << 1) //   mode 0: OUT goes high at terminal count
#define PIT_COUNT_MAX       0xffff  // 16-bit counter: at most 54.9 ms per count-down
#define PORT_SYS_CTRL_B     0x61    // System Control Port B
#define SYS_CTRL_B_GATE2    0x01    // bit 0: counter 2 gate (1 = counting)
#define SYS_CTRL_B_SPEAKER  0x02    // bit 1: speaker data enable (kept 0: silence)
#define SYS_CTRL_B_OUT2     0x20    // bit 5 (read-only): counter 2's OUT

// ---- Segment selectors ----------------------------------------------------
// GDT layout: selectors are byte offsets into the table (RPL 0, TI 0).
#define SEL_NULL            0x00
#define SEL_CODE32          0x08
#define SEL_DATA32          0x10
#define SEL_CODE64          0x18
#define SEL_DATA64          0x20
#define GDT_ENTRIES         5

// ---- boot_info: what stage 2 hands the kernel (see bootinfo.h) ----------------
#define BOOT_INFO_MAGIC     0x544f4f42 // 'BOOT'
#define BI_MAGIC            0   // u32
#define BI_BOOT_DRIVE       4   // u8: DL at 0x7c00
#define BI_A20_METHOD       5   // u8: A20_BY_*
#define BI_E820_COUNT       6   // u16
#define BI_KERNEL_SECTORS   8   // u32: sectors the boot sector read
#define BI_E820_MAP         16  // E820_MAX_ENTRIES x 24 bytes
#define A20_WAS_ON          1
#define A20_BY_BIOS         2
#define A20_BY_FAST_PORT    3

// ---- Kernel ------------------------------------------------------------------
#define IDT_EXCEPTIONS      32      // vectors 0-31: the CPU's exceptions (SDM 6.15)
#define KERNEL_STACK_SIZE   0x4000  // 16 KiB, in .bss after the kernel (entry64.asm)

// ---- SMP builds: the APs' start-up (kernel/smp/, make SMP=N) -----------------------
#define SMP_MAX_CPUS        32      // CPUs this kernel starts (the MADT may list more)
#define AP_STACK_SIZE       0x1000  // 4 KiB of .bss for each AP, its own
#define AP_ONLINE_TIMEOUT_MS 500    // an AP not online by then is reported missing
#define AP_POLL_US          100     // the BSP looks for the AP this often meanwhile
#define ICR_IDLE_POLLS      100000  // reads of ICR_SEND_PENDING before giving up
#define PIT_POLL_LIMIT      10000000 // reads of OUT2 in one count-down before giving up
// The mailbox at ap_mailbox (in the trampoline): what the BSP leaves there for
// the AP it is about to start; the byte offsets of its fields (kernel/smp/smp.h).
#define AP_MB_GDTR          2       // u16 limit + u32 base: LGDT's 6 bytes (real mode, o32)
#define AP_MB_IDTR          14      // u16 limit + u64 base: LIDT's 10 bytes (64-bit mode)
#define AP_MB_CR3           24      // u32: the BSP's CR3
#define AP_MB_CPU           28      // u32: the AP's number (0 is the BSP)
#define AP_MB_STACK         32      // u64: the top of the AP's own stack
#define AP_MB_SIZE          40

// ---- ACPI tables (ACPI 6.5, chapter 5.2), read by SMP builds -------------------------
// Where the RSDP may be (5.2.5.1): on a 16-byte boundary in the first KiB of
// the EBDA, whose segment the BIOS data area holds at 40Eh, or in the BIOS
// area E0000h-FFFFFh.
#define BDA_EBDA_SEGMENT    0x40e   // u16: the EBDA's real-mode segment
#define RSDP_EBDA_BYTES     1024
#define RSDP_BIOS_START     0xe0000
#define RSDP_BIOS_END       0x100000
#define RSDP_ALIGN          16
#define RSDP_V1_LENGTH      20      // ACPI 1.0 RSDP: its checksum covers these bytes
#define RSDP_REV_XSDT       2       // revision 2 and up: length, XSDT, extended checksum
#define MADT_LOCAL_APIC     0       // MADT entry types (5.2.12, Table 5.21)
#define MADT_LOCAL_X2APIC   9       //   for APIC IDs above 254
#define MADT_LAPIC_ENABLED  (1 << 0) // local APIC flags (Table 5.23): usable now
#define MADT_LAPIC_ONLINE_CAPABLE (1 << 1) // can be enabled later (not by us)

#endif
