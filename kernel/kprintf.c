// kprintf.c: printf for a kernel without a C library.
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include "console.h"
#include "kprintf.h"

// Print the unsigned value in base 10 or 16, right-aligned in width columns,
// padded with pad (' ' or '0'); negative puts a '-' in front of the digits.
static void print_number(uint64_t value, unsigned base, bool negative,
			 int width, char pad)
{
	char digits[20]; // 2^64 has 20 decimal digits
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value);

	int len = n + negative;
	if (negative && pad == '0')
		console_putc('-');
	for (; width > len; width--)
		console_putc(pad);
	if (negative && pad == ' ')
		console_putc('-');
	while (n)
		console_putc(digits[--n]);
}

void kvprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			console_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		bool is_long = false;
		while (*fmt == 'l') {
			is_long = true;
			fmt++;
		}

		switch (*fmt) {
		case 'd': {
			int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t magnitude = v < 0 ? -(uint64_t)v : (uint64_t)v;
			print_number(magnitude, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			print_number(is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned),
				     10, false, width, pad);
			break;
		case 'x':
			print_number(is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned),
				     16, false, width, pad);
			break;
		case 'p':
			console_write("0x");
			print_number((uintptr_t)va_arg(ap, void *), 16, false, 16, '0');
			break;
		case 'c':
			console_putc((char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = 0;
			if (!s)
				s = "(null)";
			while (s[len])
				len++;
			for (; width > len; width--)
				console_putc(' ');
			console_write(s);
			break;
		}
		case '%':
			console_putc('%');
			break;
		case '\0':
			return;
		default: // unknown: show it rather than swallow it
			console_putc('%');
			console_putc(*fmt);
		}
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
