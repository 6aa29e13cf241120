// pit.c: timed waits, from the 8254 PIT's counter 2.
//
// The SDM's waits (10 ms after INIT, 200 us after each Start-Up IPI) are in
// real time, and a loop of N instructions says nothing about real time:
// QEMU's TCG runs guest code as fast as the host translates it, Bochs as
// fast as it interprets it, a real CPU faster still. The PIT counts a fixed
// 1.193182 MHz clock on every PC, and QEMU and Bochs drive theirs from the
// host's clock (under -icount, QEMU's record/replay, from the instruction
// count: still the same time as the guest sees everywhere else).
//
// Counter 2 is the one software may use freely (counter 0 is the BIOS's
// timer tick; counter 2 drives the speaker, which stays off). In mode 0
// its OUT goes high when the count reaches 0, and System Control Port B
// reads OUT back (bit 5): no interrupt needed, so this works with IF = 0.
// Each wait has a limit on the reads too, in case no PIT answers: then the
// waits are untimed, and it says so once.
#include <stdint.h>
#include "bootlab.h"
#include "io.h"
#include "smp.h"

#define US_PER_S 1000000

static int untimed;                // the PIT never reached terminal count once

// One count-down of ticks (1 .. PIT_COUNT_MAX) of the 1.193182 MHz clock.
static void count_down(uint16_t ticks)
{
	uint8_t port_b = inb(PORT_SYS_CTRL_B) & ~SYS_CTRL_B_SPEAKER;

	outb(PORT_SYS_CTRL_B, port_b | SYS_CTRL_B_GATE2);  // gate on: counting allowed
	outb(PORT_PIT_MODE, PIT_SEL_CH2 | PIT_RW_LOHI | PIT_MODE_0);
	outb(PORT_PIT_CH2, ticks & 0xff);                 // mode 0 starts once both
	outb(PORT_PIT_CH2, ticks >> 8);                   // bytes are written
	for (uint32_t reads = 0; reads < PIT_POLL_LIMIT; reads++)
		if (inb(PORT_SYS_CTRL_B) & SYS_CTRL_B_OUT2)
			return;
	if (!untimed++)
		smp_printf("pit: counter 2 never reached its terminal count: waits are untimed\n");
}

void pit_delay_us(unsigned us)
{
	// Rounded up: a wait may be a tick longer than asked, never shorter.
	uint64_t ticks = ((uint64_t)us * PIT_HZ + US_PER_S - 1) / US_PER_S;

	while (ticks) {
		uint16_t now = ticks > PIT_COUNT_MAX ? PIT_COUNT_MAX : (uint16_t)ticks;
		count_down(now);
		ticks -= now;
	}
}
