// console.c: an 80x25 VGA text console that mirrors every byte to port 0xE9.
//
// In text mode the VGA card shows the 16-bit cells at VGA_TEXT_ADDR: the low
// byte is the character (code page 437), the high byte its attribute. The
// blinking cursor is separate: the CRT controller's cursor location registers
// (index 0Eh/0Fh) hold the cell index it sits on.
#include <stddef.h>
#include <stdint.h>
#include "bootlab.h"
#include "config.h"
#include "console.h"
#include "io.h"

static volatile uint16_t *const vga = (volatile uint16_t *)VGA_TEXT_ADDR;
static size_t row, col;
static uint8_t attribute = VGA_ATTR(VGA_LIGHT_GREY, VGA_BLACK);

static uint16_t cell(char c)
{
#ifdef BUG_VGA_CELL // lab bug (lab/18): character and attribute swapped
	return (uint16_t)(((uint8_t)c << 8) | attribute);
#endif
	return (uint16_t)((uint8_t)c | (attribute << 8));
}

static void move_cursor(void)
{
	uint16_t pos = (uint16_t)(row * VGA_COLS + col);

	outb(PORT_CRTC_INDEX, CRTC_CURSOR_HIGH);
	outb(PORT_CRTC_DATA, (uint8_t)(pos >> 8));
	outb(PORT_CRTC_INDEX, CRTC_CURSOR_LOW);
	outb(PORT_CRTC_DATA, (uint8_t)(pos & 0xff));
}

// Move every row up by one and blank the last: the screen has no memory of
// what scrolled off.
static void scroll(void)
{
	for (size_t i = 0; i < (VGA_ROWS - 1) * VGA_COLS; i++)
		vga[i] = vga[i + VGA_COLS];
	for (size_t i = (VGA_ROWS - 1) * VGA_COLS; i < VGA_ROWS * VGA_COLS; i++)
		vga[i] = cell(' ');
	row = VGA_ROWS - 1;
}

void console_init(void)
{
	for (size_t i = 0; i < VGA_ROWS * VGA_COLS; i++)
		vga[i] = cell(' ');
	row = col = 0;
	move_cursor();
}

void console_set_color(uint8_t new_attribute)
{
	attribute = new_attribute;
}

void console_putc(char c)
{
	outb(PORT_DEBUGCON, (uint8_t)c);
	if (c == '\n') {
		col = 0;
		row++;
	} else {
		vga[row * VGA_COLS + col] = cell(c);
		if (++col == VGA_COLS) {
			col = 0;
			row++;
		}
	}
	if (row == VGA_ROWS)
		scroll();
	move_cursor();
}

void console_write(const char *s)
{
	while (*s)
		console_putc(*s++);
}
