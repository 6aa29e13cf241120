// kprintf.h: a small formatted printer for the console.
#ifndef KPRINTF_H
#define KPRINTF_H

#include <stdarg.h>

// Conversions: %s %c %d %u %x %p %%, with an optional '0' flag, a field
// width, and the length modifier 'l' (64-bit %ld %lu %lx).
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

#endif
