// kmain.c: the 64-bit kernel's C entry.
//
// Who calls: lm_entry (boot/entry64.asm), the first 64-bit code.
// On entry: 64-bit mode, interrupts off, the first 1 GiB identity-mapped,
//   .bss zeroed, RSP on the kernel stack, info = BOOT_INFO_ADDR.
// It never returns: it ends in debug_exit() (success) or in a panic.
#include <stdint.h>
#include "bootinfo.h"
#include "bootlab.h"
#include "console.h"
#include "kernel.h"
#include "kprintf.h"
#include "trap.h"

static const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM:          return "usable RAM";
	case E820_RESERVED:     return "reserved";
	case E820_ACPI_RECLAIM: return "ACPI reclaimable";
	case E820_ACPI_NVS:     return "ACPI NVS";
	case E820_BAD:          return "bad memory";
	default:                return "unknown";
	}
}

static const char *a20_method_name(uint8_t method)
{
	switch (method) {
	case A20_WAS_ON:       return "already on";
	case A20_BY_BIOS:      return "enabled by the BIOS (INT 15h AX=2401h)";
	case A20_BY_FAST_PORT: return "enabled through port 0x92";
	default:               return "unknown";
	}
}

static void print_banner(void)
{
	console_set_color(VGA_ATTR(VGA_LIGHT_GREEN, VGA_BLACK));
	kprintf("bootlab: 64-bit kernel running in long mode\n");
	console_set_color(VGA_ATTR(VGA_LIGHT_GREY, VGA_BLACK));
}

static void report_boot_info(const struct boot_info *info)
{
	if (info->magic != BOOT_INFO_MAGIC) {
		kprintf("boot info: bad magic 0x%x at %p, stage 2 did not run?\n",
			info->magic, (const void *)info);
		debug_exit(DEBUG_EXIT_FAILURE);
	}
	kprintf("boot drive: 0x%02x    A20: %s\n", info->boot_drive,
		a20_method_name(info->a20_method));
	kprintf("kernel: %u sectors at 0x%x\n", info->kernel_sectors, KERNEL_ADDR);

	uint64_t usable = 0;
	kprintf("E820 memory map, %u entries:\n", info->e820_count);
	for (unsigned i = 0; i < info->e820_count; i++) {
		const struct e820_entry *e = &info->e820_map[i];
		kprintf("  %016lx - %016lx  %s\n", e->base, e->base + e->length - 1,
			e820_type_name(e->type));
		if (e->type == E820_RAM)
			usable += e->length;
	}
	kprintf("usable RAM: %lu KiB\n", usable / 1024);
}

void kmain(const struct boot_info *info)
{
	console_init();                 // 1. clear the VGA screen, cursor home
	print_banner();                 // 2. the first words on screen
	idt_init();                     // 3. from here, exceptions explain themselves
	report_boot_info(info);         // 4. what the boot stages handed over
#ifdef BUG_E820_STACK
	report_largest_usable(info);    // lab bug (lab/19), below
#endif
#ifdef CONFIG_SMP
	smp_start_aps();                // SMP builds: wake the other CPUs (smp/smp.c)
#endif
	trigger_configured_fault();     // 5. only in FAULT=... builds
	kprintf("bootlab: all checks passed, halting.\n");
	debug_exit(DEBUG_EXIT_SUCCESS); // 6. tell QEMU's isa-debug-exit we passed
}

#ifdef BUG_E820_STACK // lab bug (lab/19): a copy of the map with room for 4 entries
// The largest usable RAM range, for a page allocator to come. It works on a
// copy of the map, as boot_info's page is to be reused.
static void copy_map(struct e820_entry *to, const struct boot_info *info)
{
	for (unsigned i = 0; i < info->e820_count; i++)
		to[i] = info->e820_map[i];
}

static uint64_t largest_usable(const struct boot_info *info)
{
	struct e820_entry map[4]; // low RAM, the ROM hole, the BIOS, RAM above 1 MiB
	uint64_t best = 0;

	copy_map(map, info);
	for (size_t i = 0; i < info->e820_count; i++)
		if (map[i].type == E820_RAM && map[i].length > best)
			best = map[i].length;
	return best;
}

void report_largest_usable(const struct boot_info *info)
{
	kprintf("largest usable range: %lu KiB\n", largest_usable(info) / 1024);
}
#endif
