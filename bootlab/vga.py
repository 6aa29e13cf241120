"""The VGA text screen from its bytes (IBM VGA reference, colour text mode 3).

80 x 25 cells at physical VGA_TEXT_ADDR (x86.h), each a character byte (code
page 437) and an attribute byte: bits 3:0 foreground, bits 6:4 background,
bit 7 blink. The CRTC start-address registers can scroll the visible page;
this view assumes the usual start at the buffer's first cell.
"""
from .x86.sdm import VGA_TEXT_ADDR, VGA_COLS, VGA_ROWS

SCREEN_BYTES = VGA_COLS * VGA_ROWS * 2
ROW_BYTES = VGA_COLS * 2
# VGA colour number -> ANSI colour number (VGA: blue=1, red=4; ANSI the reverse).
VGA_TO_ANSI = [0, 4, 2, 6, 1, 5, 3, 7]
ATTR_FG_BRIGHT = 0x08
ATTR_BG_SHIFT = 4
RESET = "\x1b[0m"


def cell_char(byte):
    """What a character byte shows: 0 (and 0xff) blank, control bytes '.'."""
    if byte in (0, 0xff):
        return " "
    if byte < 0x20 or byte == 0x7f:
        return "."
    return bytes([byte]).decode("cp437")


def ansi(attr):
    fg = VGA_TO_ANSI[attr & 7] + (90 if attr & ATTR_FG_BRIGHT else 30)
    bg = VGA_TO_ANSI[(attr >> ATTR_BG_SHIFT) & 7] + 40
    return "\x1b[%d;%dm" % (fg, bg)


def lines(data, color=False):
    """The screen as 25 text lines (trailing blanks stripped when plain);
    with colour, ANSI escapes wherever the attribute changes."""
    out = []
    for row in range(VGA_ROWS):
        cells = data[row * ROW_BYTES:(row + 1) * ROW_BYTES]
        parts, attr_now = [], None
        for col in range(0, len(cells) - 1, 2):
            ch, attr = cells[col], cells[col + 1]
            if color and attr != attr_now:
                parts.append(ansi(attr))
                attr_now = attr
            parts.append(cell_char(ch))
        text = "".join(parts)
        out.append(text + RESET if color else text.rstrip())
    return out


def boxed(rows):
    """Plain lines in a frame of the screen's width, as `bl vga` prints them."""
    bar = "+" + "-" * VGA_COLS + "+"
    return [bar] + ["|" + r.ljust(VGA_COLS) + "|" for r in rows] + [bar]


def cell_at(address):
    """(row, column) of the cell a byte address in the buffer belongs to."""
    index = (address - VGA_TEXT_ADDR) // 2
    return index // VGA_COLS, index % VGA_COLS
