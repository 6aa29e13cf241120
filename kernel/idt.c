// idt.c: the interrupt descriptor table for CPU exceptions 0-31.
//
// Without an IDT, the first exception in long mode finds no handler, which
// raises #DF, which also finds none: a triple fault, and the machine resets
// without a word. With these 32 gates every exception reaches panic.c and
// explains itself.
#include <stdint.h>
#include "bootlab.h"
#include "trap.h"

// A 64-bit IDT gate descriptor: 16 bytes (SDM Vol. 3A 6.14.1, Figure 6-8).
struct idt_gate {
	uint16_t offset_low;    // handler address 15:0
	uint16_t selector;      // code segment to run the handler in
	uint8_t ist;            // interrupt stack table index, 0 = none
	uint8_t type_attr;      // bits 15:8 of the high doubleword: P, DPL, type
	uint16_t offset_mid;    // handler address 31:16
	uint32_t offset_high;   // handler address 63:32
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

// The operand of LIDT: limit (size - 1) and linear base.
struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_table[IDT_EXCEPTIONS]; // isr.asm

static struct idt_gate idt[IDT_EXCEPTIONS];

static void set_gate(int vector, uint64_t handler)
{
	idt[vector] = (struct idt_gate){
		.offset_low = handler & 0xffff,
		.selector = SEL_CODE64,
		.ist = 0,
		// Present, DPL 0, an interrupt gate (it clears IF). x86.h names the
		// bits by their place in the high doubleword; this byte holds 15:8.
		.type_attr = (DESC_P | (SYS_TYPE_INT_GATE << DESC_TYPE_SHIFT)) >> 8,
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_high = handler >> 32,
	};
}

void idt_init(void)
{
	for (int vector = 0; vector < IDT_EXCEPTIONS; vector++)
		set_gate(vector, isr_table[vector]);

	struct idt_pointer pointer = {
		.limit = sizeof(idt) - 1,
		.base = (uint64_t)idt,
	};
	__asm__ volatile("lidt %0" : : "m"(pointer));
}
