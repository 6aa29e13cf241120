// console.h: the VGA text console, mirrored to the debug port.
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdint.h>

// VGA attribute byte: background colour in bits 4-6, foreground in 0-3.
enum vga_color {
	VGA_BLACK = 0, VGA_BLUE = 1, VGA_GREEN = 2, VGA_CYAN = 3,
	VGA_RED = 4, VGA_MAGENTA = 5, VGA_BROWN = 6, VGA_LIGHT_GREY = 7,
	VGA_DARK_GREY = 8, VGA_LIGHT_BLUE = 9, VGA_LIGHT_GREEN = 10,
	VGA_LIGHT_CYAN = 11, VGA_LIGHT_RED = 12, VGA_LIGHT_MAGENTA = 13,
	VGA_YELLOW = 14, VGA_WHITE = 15,
};

#define VGA_ATTR(fg, bg) ((uint8_t)(((bg) << 4) | (fg)))

void console_init(void);
void console_set_color(uint8_t attribute);
void console_putc(char c);
void console_write(const char *s);

#endif
