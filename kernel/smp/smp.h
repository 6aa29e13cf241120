// smp.h: what the SMP build's files share (kernel/smp/, make SMP=N).
//
// One CPU, the bootstrap processor (BSP), runs the boot path and the kernel;
// smp.c then finds the others (application processors, APs) in the ACPI
// MADT (acpi.c) and starts each with INIT and Start-Up IPIs through its
// local APIC (lapic.c), waiting as the SDM says (pit.c). Each AP walks
// real -> protected -> long mode on the trampoline (trampoline16.asm,
// trampoline32.asm, ap_entry64.asm) and reaches ap_main().
#ifndef SMP_H
#define SMP_H

#include <stddef.h>
#include <stdint.h>
#include "bootlab.h"

// What the MADT says about the CPUs (acpi.c).
struct cpu_list {
	uint64_t rsdp, root, madt;     // where the tables are (for the report)
	unsigned acpi_revision;        // of the RSDP: 0 = ACPI 1.0 (RSDT only)
	unsigned count;                // usable local APICs, at most SMP_MAX_CPUS
	unsigned listed;               // all enabled ones, also those past SMP_MAX_CPUS
	unsigned x2apic_only;          // entries with an x2APIC ID above 255 (skipped)
	uint8_t apic_id[SMP_MAX_CPUS]; // in MADT order
};

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t low, high;
	__asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
	return ((uint64_t)high << 32) | low;
}

// The mailbox at ap_mailbox in the trampoline (offsets: AP_MB_* in bootlab.h).
struct ap_mailbox {
	uint16_t pad0;
	uint16_t gdt_limit;            // LGDT's operand in real mode with o32:
	uint32_t gdt_base;             //   limit, then a 32-bit base
	uint16_t pad1[3];
	uint16_t idt_limit;            // LIDT's operand in 64-bit mode:
	uint64_t idt_base;             //   limit, then a 64-bit base
	uint32_t cr3;                  // the page tables (below 4 GiB: loaded in 32-bit code)
	uint32_t cpu;                  // the AP's number
	uint64_t stack_top;            // its own stack
} __attribute__((packed));

_Static_assert(offsetof(struct ap_mailbox, gdt_limit) == AP_MB_GDTR, "AP_MB_GDTR");
_Static_assert(offsetof(struct ap_mailbox, idt_limit) == AP_MB_IDTR, "AP_MB_IDTR");
_Static_assert(offsetof(struct ap_mailbox, cr3) == AP_MB_CR3, "AP_MB_CR3");
_Static_assert(offsetof(struct ap_mailbox, cpu) == AP_MB_CPU, "AP_MB_CPU");
_Static_assert(offsetof(struct ap_mailbox, stack_top) == AP_MB_STACK, "AP_MB_STACK");
_Static_assert(sizeof(struct ap_mailbox) == AP_MB_SIZE, "AP_MB_SIZE");

// The trampoline: where the image holds it, how long it is (kernel.ld.S),
// and the mailbox in its copy at TRAMPOLINE_ADDR (trampoline16.asm).
extern const uint8_t trampoline_load[], trampoline_size[];
extern struct ap_mailbox ap_mailbox;

// acpi.c: fill *cpus from the MADT; 0, or a sentence saying why not.
const char *acpi_find_cpus(struct cpu_list *cpus);

// physmap.c: make [phys, phys + len) reachable at the same address (the
// boot maps only the first 1 GiB); extra: PTE_PCD | PTE_PWT for registers.
// 0 on success, else a sentence.
const char *phys_map(uint64_t phys, uint64_t len, uint64_t extra);

// lapic.c
const char *lapic_init(void);             // find and map this CPU's local APIC
uint8_t lapic_id(void);                    // the executing CPU's APIC ID
int lapic_send(uint8_t apic_id, uint32_t icr_low); // 0 once accepted, -1 if never

// pit.c: busy-wait about us microseconds, timed by the PIT (counter 2).
void pit_delay_us(unsigned us);

// smp.c
void smp_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ap_main(uint32_t cpu);

#endif
