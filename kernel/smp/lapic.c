// lapic.c: the executing CPU's local APIC, in xAPIC mode (SDM Vol. 3A ch. 10).
//
// Each CPU has its own local APIC, and each sees its own at the same
// physical address, the one IA32_APIC_BASE holds (0xfee00000 after reset):
// the BSP and an AP reading LAPIC_ID there get different answers. The
// registers are memory-mapped, 32 bits each; they must be read and written
// as aligned doublewords and mapped uncacheable (SDM 10.4.1).
//
// Sending an IPI (SDM 10.6.1): the destination goes into ICR_HIGH first;
// writing ICR_LOW sends the message. Delivery status then reads 1 until the
// target APIC accepted it, and software should wait for 0 before the next.
// The spurious-interrupt vector register's software enable is left as the
// BIOS set it: both lab BIOSes enable the BSP's APIC, and an AP's APIC
// takes INIT and Start-Up messages even when software-disabled (10.4.7.2).
#include <stdint.h>
#include "bootlab.h"
#include "smp.h"

static uint32_t base;

static inline uint32_t read_reg(uint32_t offset)
{
	return *(volatile uint32_t *)(uint64_t)(base + offset);
}

static inline void write_reg(uint32_t offset, uint32_t value)
{
	*(volatile uint32_t *)(uint64_t)(base + offset) = value;
}

const char *lapic_init(void)
{
	uint32_t eax = CPUID_FEATURES, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	if (!(edx & CPUID_EDX_APIC))
		return "CPUID says this CPU has no local APIC";
	uint64_t msr = rdmsr(MSR_APIC_BASE);
	if (!(msr & APIC_BASE_EN))
		return "the local APIC is disabled (IA32_APIC_BASE.EN = 0)";
	if (msr & APIC_BASE_EXTD)
		return "the local APIC is in x2APIC mode; this kernel drives the xAPIC (MMIO) only";
	uint64_t phys = msr & APIC_BASE_ADDR_MASK;
	const char *why = phys_map(phys, LAPIC_REGS_SIZE, PTE_PCD | PTE_PWT);
	if (why)
		return why;
	base = (uint32_t)phys;
	return 0;
}

uint8_t lapic_id(void)
{
	return read_reg(LAPIC_ID) >> LAPIC_ID_SHIFT;
}

int lapic_send(uint8_t apic_id, uint32_t icr_low)
{
	write_reg(LAPIC_ICR_HIGH, (uint32_t)apic_id << ICR_DEST_SHIFT);
	write_reg(LAPIC_ICR_LOW, icr_low);
	for (uint32_t reads = 0; reads < ICR_IDLE_POLLS; reads++)
		if (!(read_reg(LAPIC_ICR_LOW) & ICR_SEND_PENDING))
			return 0;
	return -1;
}
