// trap.h: the exception frame built by isr.asm, and the IDT.
#ifndef TRAP_H
#define TRAP_H

#include <stdint.h>

// Lowest address first: what isr_common pushed last comes first.
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;   // 0 for vectors without one
	// Pushed by the CPU (SDM Vol. 3A 6.14.2).
	uint64_t rip, cs, rflags, rsp, ss;
};

void idt_init(void);
void exception_handler(struct trap_frame *frame) __attribute__((noreturn));

#endif
