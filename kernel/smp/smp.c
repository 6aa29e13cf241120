// smp.c: the BSP wakes the other CPUs, one at a time; each reports in.
//
// Who calls: kmain (SMP builds), on the bootstrap processor, once the boot
// report is on screen. In: 64-bit mode, interrupts off, no AP running.
// Out: every CPU the MADT lists (up to SMP_MAX_CPUS) has written its line
// and parked in ap_park; or, when one did not come, a sentence naming it,
// and the run ends with DEBUG_EXIT_FAILURE. Like Linux, the BSP goes on to
// the next AP after one failed; unlike Linux, which boots on with fewer
// CPUs, this kernel exists to check the bring-up, so a CPU missing is a
// failed check, and every script that reads the exit status should see it.
//
// One AP at a time, because they share the trampoline and its mailbox:
// INIT, 10 ms, Start-Up IPI, 200 us, Start-Up IPI, 200 us (SDM Vol. 3A
// 8.4.4.1), then up to AP_ONLINE_TIMEOUT_MS for its "online" flag. An AP
// that missed that gets INIT again, which holds it in wait-for-SIPI: it
// must not wake later and take the next AP's stack from the mailbox.
#include <stdarg.h>
#include <stdint.h>
#include "bootlab.h"
#include "config.h"
#include "kernel.h"
#include "kprintf.h"
#include "smp.h"
#include "spinlock.h"

#define US_PER_MS 1000

static struct cpu_list cpus;
static uint8_t cpu_apic[SMP_MAX_CPUS];   // CPU number -> APIC ID; 0 is the BSP
static uint8_t online[SMP_MAX_CPUS];     // written by each AP, read by the BSP
static uint8_t ap_stacks[SMP_MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));
static struct spinlock console_lock;     // one CPU's line at a time on the screen

struct pseudo_descriptor {               // what SGDT/SIDT store in 64-bit mode
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

void smp_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spin_lock(&console_lock);
	kvprintf(fmt, ap);
	spin_unlock(&console_lock);
	va_end(ap);
}

static const char *mode_name(void)
{
	return rdmsr(MSR_EFER) & EFER_LMA ? "64-bit" : "legacy (EFER.LMA=0)";
}

// The mailbox: what the AP loads on its way (the same GDT, IDT and page
// tables as the BSP) and what is its own (its number, its stack).
static void fill_mailbox(unsigned cpu)
{
	struct pseudo_descriptor gdtr, idtr;
	uint64_t cr3;

	__asm__ volatile("sgdt %0; sidt %1; mov %%cr3, %2" : "=m"(gdtr), "=m"(idtr), "=r"(cr3));
	ap_mailbox.gdt_limit = gdtr.limit;
	ap_mailbox.gdt_base = (uint32_t)gdtr.base;  // below 1 MiB (boot/gdt.asm)
	ap_mailbox.idt_limit = idtr.limit;
	ap_mailbox.idt_base = idtr.base;
	ap_mailbox.cr3 = (uint32_t)cr3;             // PML4_ADDR
	ap_mailbox.cpu = cpu;
	ap_mailbox.stack_top = (uint64_t)&ap_stacks[cpu - 1][AP_STACK_SIZE];
	// The AP reads all of it after the IPIs below: store it first.
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int arrived(unsigned cpu)
{
	return __atomic_load_n(&online[cpu], __ATOMIC_ACQUIRE);
}

// INIT-SIPI-SIPI to one AP; 0 once it said it is online.
static int start_ap(unsigned cpu)
{
	uint8_t id = cpu_apic[cpu];
#ifdef BUG_SIPI_VECTOR // lab bug: the vector as the AP's segment (VV00), not its page (VV)
	uint32_t vector = TRAMPOLINE_SEG;
#else
	uint32_t vector = TRAMPOLINE_VECTOR;   // the AP starts at vector << SIPI_PAGE_SHIFT
#endif

	fill_mailbox(cpu);
	// Level assert, edge trigger, as in the SDM's example (8.4.4.1). The
	// INIT level de-assert message is only for the 82489DX (SDM 10.6.1).
	if (lapic_send(id, ICR_DM_INIT | ICR_LEVEL_ASSERT)) {
		smp_printf("smp: cpu %u (APIC id %u): its APIC never accepted INIT\n", cpu, id);
		return -1;
	}
	pit_delay_us(MP_INIT_WAIT_US);
	for (int i = 0; i < MP_SIPI_COUNT; i++) {
		// Not accepted shows below: the AP does not come online.
		lapic_send(id, ICR_DM_STARTUP | ICR_LEVEL_ASSERT | vector);
		pit_delay_us(MP_SIPI_WAIT_US);
	}
	for (unsigned waited = 0; waited < AP_ONLINE_TIMEOUT_MS * US_PER_MS; waited += AP_POLL_US) {
		if (arrived(cpu))
			return 0;
		pit_delay_us(AP_POLL_US);
	}
	if (arrived(cpu))
		return 0;
	lapic_send(id, ICR_DM_INIT | ICR_LEVEL_ASSERT);
	smp_printf("smp: cpu %u (APIC id %u) not online after %u ms: INIT sent to hold it\n",
		   cpu, id, AP_ONLINE_TIMEOUT_MS);
	return -1;
}

static void fail(const char *why)
{
	smp_printf("smp: %s\nbootlab: cannot start the other CPUs, halting.\n", why);
	debug_exit(DEBUG_EXIT_FAILURE);
}

void smp_start_aps(void)
{
	const char *why = acpi_find_cpus(&cpus);

	if (why)
		fail(why);
	if ((why = lapic_init()))
		fail(why);
	uint8_t bsp = lapic_id();
	unsigned n = 1, bsp_listed = 0;     // CPU numbers: the BSP, then the MADT's order
	cpu_apic[0] = bsp;
	for (unsigned i = 0; i < cpus.count; i++)
		if (cpus.apic_id[i] == bsp)
			bsp_listed = 1;
		else if (n < SMP_MAX_CPUS)
			cpu_apic[n++] = cpus.apic_id[i];
	if (!bsp_listed)
		fail("this CPU's own APIC ID is not among the MADT's first SMP_MAX_CPUS");
	smp_printf("smp: %u CPU%s in the MADT at 0x%lx (%s 0x%lx, RSDP 0x%lx revision %u)\n",
		   cpus.listed, cpus.listed == 1 ? "" : "s", cpus.madt,
		   cpus.acpi_revision >= RSDP_REV_XSDT ? "XSDT" : "RSDT", cpus.root, cpus.rsdp,
		   cpus.acpi_revision);
	if (cpus.listed > cpus.count)
		smp_printf("smp: this kernel starts %u (SMP_MAX_CPUS); %u stay as the BIOS left them\n",
			   cpus.count, cpus.listed - cpus.count);
	if (cpus.x2apic_only)
		smp_printf("smp: %u CPUs with x2APIC IDs above 254 stay off: this kernel drives xAPICs\n",
			   cpus.x2apic_only);
	smp_printf("cpu 0: online in %s mode, APIC id %u (bootstrap processor)\n", mode_name(), bsp);
	online[0] = 1;

	if (n > 1) {
		for (uint64_t i = 0; i < (uint64_t)trampoline_size; i++)
			((uint8_t *)TRAMPOLINE_ADDR)[i] = trampoline_load[i];
		smp_printf("smp: Start-Up IPIs with vector 0x%02x: each AP starts at %04x:0000\n",
			   TRAMPOLINE_VECTOR, TRAMPOLINE_SEG);
	}
	unsigned up = 1;
	for (unsigned cpu = 1; cpu < n; cpu++)
		up += start_ap(cpu) == 0;
	if (up != n) {
		smp_printf("smp: %u of %u CPUs online\nbootlab: not every CPU came online, halting.\n",
			   up, n);
		debug_exit(DEBUG_EXIT_FAILURE);
	}
}

// Who calls: ap_lm_entry (ap_entry64.asm), on the AP, on its own stack.
// Returns to ap_park, where the AP stays.
void ap_main(uint32_t cpu)
{
	uint8_t id = lapic_id();

	if (id == cpu_apic[cpu])
		smp_printf("cpu %u: online in %s mode, APIC id %u\n", cpu, mode_name(), id);
	else
		smp_printf("cpu %u: online in %s mode, APIC id %u (the MADT said %u)\n",
			   cpu, mode_name(), id, cpu_apic[cpu]);
	__atomic_store_n(&online[cpu], 1, __ATOMIC_RELEASE);
}
