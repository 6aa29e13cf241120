// panic.c: turn a CPU exception into a screen a learner can read.
//
// Prints which exception, its error code (decoded for #PF), CR2 for a page
// fault, where it happened (RIP, CS, RFLAGS, RSP) and the general registers,
// on the VGA screen and on port 0xE9; then tells QEMU's isa-debug-exit that
// the run failed and halts.
#include <stdint.h>
#include "bootlab.h"
#include "console.h"
#include "io.h"
#include "kernel.h"
#include "kprintf.h"
#include "trap.h"

#define VECTOR_PAGE_FAULT 14

// Mnemonic and name of each exception (SDM Vol. 3A Table 6-1).
static const char *const exception_names[IDT_EXCEPTIONS][2] = {
	{"#DE", "Divide Error"},            {"#DB", "Debug"},
	{"NMI", "Non-maskable Interrupt"},  {"#BP", "Breakpoint"},
	{"#OF", "Overflow"},                {"#BR", "BOUND Range Exceeded"},
	{"#UD", "Invalid Opcode"},          {"#NM", "Device Not Available"},
	{"#DF", "Double Fault"},            {"---", "Coprocessor Segment Overrun"},
	{"#TS", "Invalid TSS"},             {"#NP", "Segment Not Present"},
	{"#SS", "Stack-Segment Fault"},     {"#GP", "General Protection"},
	{"#PF", "Page Fault"},              {"---", "Reserved (15)"},
	{"#MF", "x87 Floating-Point Error"}, {"#AC", "Alignment Check"},
	{"#MC", "Machine Check"},           {"#XM", "SIMD Floating-Point"},
	{"#VE", "Virtualization Exception"}, {"#CP", "Control Protection"},
	{"---", "Reserved (22)"},           {"---", "Reserved (23)"},
	{"---", "Reserved (24)"},           {"---", "Reserved (25)"},
	{"---", "Reserved (26)"},           {"---", "Reserved (27)"},
	{"#HV", "Hypervisor Injection"},    {"#VC", "VMM Communication"},
	{"#SX", "Security Exception"},      {"---", "Reserved (31)"},
};

// Page-fault error code bits (SDM Vol. 3A 4.7, Figure 4-12).
#define PF_PRESENT  (1 << 0) // 0: page not present, 1: protection violation
#define PF_WRITE    (1 << 1)
#define PF_USER     (1 << 2)
#define PF_RESERVED (1 << 3)
#define PF_FETCH    (1 << 4)

static void explain_page_fault(uint64_t error_code)
{
	kprintf("  CR2 (faulting address): 0x%016lx\n", read_cr2());
	kprintf("  cause: %s on a %s, in %s mode%s\n",
		error_code & PF_FETCH ? "instruction fetch" :
		error_code & PF_WRITE ? "write" : "read",
		error_code & PF_PRESENT ? "protection violation" : "page that is not present",
		error_code & PF_USER ? "user" : "kernel",
		error_code & PF_RESERVED ? " (reserved bit set in a paging entry)" : "");
}

void exception_handler(struct trap_frame *f)
{
	console_set_color(VGA_ATTR(VGA_WHITE, VGA_RED));
	kprintf("\nKERNEL PANIC: CPU exception %lu, %s %s\n", f->vector,
		exception_names[f->vector][0], exception_names[f->vector][1]);
	kprintf("  error code: 0x%lx\n", f->error_code);
	if (f->vector == VECTOR_PAGE_FAULT)
		explain_page_fault(f->error_code);
	kprintf("  RIP=0x%016lx  CS=0x%04lx  RFLAGS=0x%08lx\n", f->rip, f->cs, f->rflags);
	kprintf("  RSP=0x%016lx  SS=0x%04lx\n", f->rsp, f->ss);
	kprintf("  RAX=%016lx RBX=%016lx RCX=%016lx\n", f->rax, f->rbx, f->rcx);
	kprintf("  RDX=%016lx RSI=%016lx RDI=%016lx\n", f->rdx, f->rsi, f->rdi);
	kprintf("  RBP=%016lx R8 =%016lx R9 =%016lx\n", f->rbp, f->r8, f->r9);
	kprintf("  R10=%016lx R11=%016lx R12=%016lx\n", f->r10, f->r11, f->r12);
	kprintf("  R13=%016lx R14=%016lx R15=%016lx\n", f->r13, f->r14, f->r15);
	kprintf("  find the instruction: (gdb) info line *0x%lx\n", f->rip);
	kprintf("System halted.\n");
	debug_exit(DEBUG_EXIT_FAILURE);
}
