"""`bl vga`: the VGA text screen, read from physical memory.

In colour text mode (mode 3) the screen is 80 x 25 cells at physical
0xb8000, each cell a character byte (code page 437) and an attribute byte:
bits 3:0 foreground, bits 6:4 background, bit 7 blink (IBM VGA reference).
The CRTC start-address registers can scroll the visible page; this view
assumes the usual start at 0xb8000.
"""
import gdb

from . import phys
from .command import BlCommand, BlParameter
from .sdm import VGA_TEXT_PHYS, VGA_COLS, VGA_ROWS

# VGA colour number -> ANSI colour number (VGA: blue=1, red=4; ANSI the reverse).
VGA_TO_ANSI = [0, 4, 2, 6, 1, 5, 3, 7]
ATTR_FG_BRIGHT = 0x08
ATTR_BG_SHIFT = 4


def cell_char(byte):
    if byte in (0, 0xff):
        return " "
    if byte < 0x20 or byte == 0x7f:
        return "."
    return bytes([byte]).decode("cp437")


def ansi(attr):
    fg = VGA_TO_ANSI[attr & 7] + (90 if attr & ATTR_FG_BRIGHT else 30)
    bg = VGA_TO_ANSI[(attr >> ATTR_BG_SHIFT) & 7] + 40
    return "\x1b[%d;%dm" % (fg, bg)


def render(data, color):
    """The screen as text lines; with colour, ANSI escapes per attribute."""
    lines = []
    for row in range(VGA_ROWS):
        out = []
        attr_now = None
        for col in range(VGA_COLS):
            i = (row * VGA_COLS + col) * 2
            ch, attr = data[i], data[i + 1]
            if color and attr != attr_now:
                out.append(ansi(attr))
                attr_now = attr
            out.append(cell_char(ch))
        if color:
            out.append("\x1b[0m")
        lines.append("".join(out) if color else "".join(out).rstrip())
    return lines


class VgaColor(BlParameter):
    """Colour in `bl vga`: auto (when GDB styles its output), on or off."""
    NAME = "color"

    def __init__(self):
        super().__init__(gdb.PARAM_AUTO_BOOLEAN)
        self.value = None


def use_color(param):
    if param.value is None:
        return bool(gdb.parameter("style enabled"))
    return param.value


class VgaCommand(BlCommand):
    """Draw the VGA text screen from physical 0xb8000.
Usage: bl vga [plain|color]
Draw the 80x25 VGA text screen from physical memory at 0xb8000, in colour
(ANSI) when `set bootlab color` allows it, or as plain text."""
    NAME = "vga"
    color_param = None

    def run(self, argv):
        if len(argv) > 1 or (argv and argv[0] not in ("plain", "color")):
            self.usage("expected nothing, 'plain' or 'color'")
        color = argv[0] == "color" if argv else use_color(self.color_param)
        data = phys.read(VGA_TEXT_PHYS, VGA_COLS * VGA_ROWS * 2)
        border = "+" + "-" * VGA_COLS + "+"
        print(border)
        for text in render(data, color):
            pad = "" if color else " " * (VGA_COLS - len(text))
            print("|" + text + pad + "|")
        print(border)
