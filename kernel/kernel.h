// kernel.h: kernel-wide entry points that have no better home.
#ifndef KERNEL_H
#define KERNEL_H

#include <stdint.h>
#include "bootinfo.h"
#include "config.h"

void kmain(const struct boot_info *info) __attribute__((noreturn));
void trigger_configured_fault(void);
void debug_exit(uint8_t status) __attribute__((noreturn));
#ifdef CONFIG_SMP
void smp_start_aps(void);  // kernel/smp/smp.c
#endif
#ifdef BUG_E820_STACK
void report_largest_usable(const struct boot_info *info); // lab bug (lab/19)
#endif

#endif
