"""`bl vga`: the VGA text screen, read from physical memory and drawn by
the core (bootlab.vga)."""
import gdb

from .. import vga
from . import phys
from .command import BlCommand, BlParameter


class VgaColor(BlParameter):
    """Colour in `bl vga`: auto (when GDB styles its output), on or off."""
    NAME = "color"
    instance = None

    def __init__(self):
        super().__init__(gdb.PARAM_AUTO_BOOLEAN)
        self.value = None
        VgaColor.instance = self


def use_color():
    param = VgaColor.instance
    if param is None:
        return False
    if param.value is None:
        return bool(gdb.parameter("style enabled"))
    return param.value


def screen():
    return phys.read(vga.VGA_TEXT_ADDR, vga.SCREEN_BYTES)


class VgaCommand(BlCommand):
    """Draw the VGA text screen from physical 0xb8000.
Usage: bl vga [plain|color]
Draw the 80x25 VGA text screen from physical memory at 0xb8000, in colour
(ANSI) when `set bootlab color` allows it, or as plain text."""
    NAME = "vga"

    def run(self, argv):
        if len(argv) > 1 or (argv and argv[0] not in ("plain", "color")):
            self.usage("expected nothing, 'plain' or 'color'")
        color = argv[0] == "color" if argv else use_color()
        data = screen()
        if not color:
            print("\n".join(vga.boxed(vga.lines(data))))
            return
        border = "+" + "-" * vga.VGA_COLS + "+"
        print(border)
        for text in vga.lines(data, color=True):
            print("|" + text + "|")
        print(border)
