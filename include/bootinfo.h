// bootinfo.h: what stage 2 leaves at BOOT_INFO_ADDR for the kernel.
// The byte offsets are defined once in bootlab.h (the NASM side writes through
// them); the static assertions make the C layout agree or fail the build.
#ifndef BOOTINFO_H
#define BOOTINFO_H

#include <stddef.h>
#include <stdint.h>
#include "bootlab.h"

// One entry of the BIOS memory map (ACPI spec, "E820 address range").
struct e820_entry {
	uint64_t base;
	uint64_t length;
	uint32_t type;         // E820_RAM, E820_RESERVED, ...
	uint32_t attributes;   // ACPI 3.0 extended attributes
} __attribute__((packed));

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI_RECLAIM = 3,
	E820_ACPI_NVS = 4,
	E820_BAD = 5,
};

struct boot_info {
	uint32_t magic;          // BOOT_INFO_MAGIC
	uint8_t boot_drive;      // DL at 0x7c00 (0x80 = first hard disk)
	uint8_t a20_method;      // A20_WAS_ON, A20_BY_BIOS, A20_BY_FAST_PORT
	uint16_t e820_count;
	uint32_t kernel_sectors;
	uint32_t reserved;
	struct e820_entry e820_map[E820_MAX_ENTRIES];
} __attribute__((packed));

_Static_assert(offsetof(struct boot_info, magic) == BI_MAGIC, "BI_MAGIC");
_Static_assert(offsetof(struct boot_info, boot_drive) == BI_BOOT_DRIVE, "BI_BOOT_DRIVE");
_Static_assert(offsetof(struct boot_info, a20_method) == BI_A20_METHOD, "BI_A20_METHOD");
_Static_assert(offsetof(struct boot_info, e820_count) == BI_E820_COUNT, "BI_E820_COUNT");
_Static_assert(offsetof(struct boot_info, kernel_sectors) == BI_KERNEL_SECTORS, "BI_KERNEL_SECTORS");
_Static_assert(offsetof(struct boot_info, e820_map) == BI_E820_MAP, "BI_E820_MAP");
_Static_assert(sizeof(struct e820_entry) == E820_ENTRY_SIZE, "E820_ENTRY_SIZE");

#endif
