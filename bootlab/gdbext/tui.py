"""`layout bootlab`: the boot in GDB's TUI.

    +-- boot/pm32.asm --------------++-- bootlab CPU state -----------+
    | the source line that runs     || bl mode, bl cr, the segment    |
    | next (bootlab-asm: GDB's asm  || caches (selector, base, limit, |
    | window, decoded in the CPU's  || attributes), GDTR, IDTR       |
    | mode by disasm.py)            |+-- VGA text 80x25 at 0xb8000 ---+
    +-------------------------------+| the screen, read from physical |
    | (gdb) the command window      || memory, in its colours         |
    +-------------------------------++--------------------------------+
    status line

Two window types made with GDB's Python TUI API (gdb.register_window_type)
and two layouts made with `tui new-layout`: `layout bootlab` with GDB's
source window, `layout bootlab-asm` with its assembly window.

The windows draw from data: the selected CPU's snapshot (snapshot.py) in the
lines `bl mode` and `bl cr` print (mode.mode_lines, the core's
controlregs.summary_line) and the core's descriptor words, and the screen's
bytes through the core's VGA decoder. They are redrawn at every stop and
before every prompt (a register read, at most one `monitor info registers`
and a 4000-byte physical read), so a stop, `bl next-mode`, `set $cr0 = ...`
or a write to video memory shows at once.
A window never raises: without a stopped live target it shows one line
instead, and it clips to its size. Without a terminal GDB itself refuses
the layout, in one line ("Cannot enable the TUI when output is not a
terminal").
"""
import re
import time

import gdb

from .. import vga as core_vga
from ..x86.controlregs import CONTROL_REGS, summary_line
from ..x86.descriptors import attr_text
from . import mode, segments, snapshot, stepping, target, vga

VGA_COLS, VGA_ROWS, VGA_TEXT_ADDR = core_vga.VGA_COLS, core_vga.VGA_ROWS, core_vga.VGA_TEXT_ADDR

STATE_WINDOW = "bootlab-state"
VGA_WINDOW = "bootlab-vga"
# Left column: source or assembly over the command window; right column: the
# state over the screen; the status line across the bottom. The right column
# gets 41/80 of the width: in a 160x50 terminal that is 82 columns, the 80 of
# the screen plus its border. Its 49 rows split 23:27, stacked windows sharing
# a border row: 21 rows for the state (it needs 20), 25 for the screen.
# The status line stays outside the columns: seen, GDB 13 crashes when the
# terminal of a nested layout shrinks below 6 rows, and with `status` inside
# the left column already at 6 (its own layouts survive down to 4).
LAYOUT = ("{-horizontal {%s 2 cmd 1} 39 "
          "{" + STATE_WINDOW + " 23 " + VGA_WINDOW + " 27} 41} 1 status 0")
LAYOUTS = {"bootlab": LAYOUT % "src", "bootlab-asm": LAYOUT % "asm"}

# ANSI SGR escapes, which GDB 13's TUI windows interpret (ECMA-48 8.3.117).
SGR = re.compile(r"\x1b\[[0-9;]*m")
SGR_PARAMS = re.compile(r"\x1b\[([0-9;]*)m")
RESET = "\x1b[0m"
BOLD = "\x1b[1m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"
DIM = "\x1b[2m"

# Stops closer together than this (a script stepping in a loop) are not
# each redrawn: a redraw costs about 9 ms, a stepi under 1 ms.
STOP_REDRAW_GAP_S = 0.1

_windows = []            # the bootlab windows GDB shows now
_last_stop_drawn = 0.0   # time.monotonic() of the last redraw at a stop
_stops = 0               # stops seen, to tell "changed since the last stop"
# The state rows of the latest render and of the previous stop (kept here, not
# in a window: `layout` makes new windows).
_seen = (None, {}, {})   # (stop number, rows now, rows at the stop before)


def clip(line, width, skip=0):
    """Columns skip .. skip+width of line, keeping its colour escapes."""
    out, col = [], 0
    for piece in re.split("(%s)" % SGR.pattern, line):
        if SGR.fullmatch(piece):
            out.append(piece)
            continue
        start = max(skip - col, 0)
        stop = max(skip + width - col, 0)
        out.append(piece[start:stop])
        col += len(piece)
    return "".join(out) + (RESET if SGR.search(line) else "")


def tui_colors(line):
    """GDB 13's TUI windows ignore the bright colours 90-97 (seen: drawn in
    the default colour) but draw bold: a bright VGA foreground (attribute bit
    3) becomes bold plus the base colour. Each escape starts with a reset, so
    bold ends where the next cell's escape begins."""
    def fix(m):
        params = ["1;3" + p[1] if len(p) == 2 and p[0] == "9" else p
                  for p in m.group(1).split(";")]
        return "\x1b[0;%sm" % ";".join(params)
    return SGR_PARAMS.sub(fix, line)


def visible_len(line):
    return len(SGR.sub("", line))


def paint(text, style, color):
    return style + text + RESET if color and text else text


def use_color():
    return vga.use_color()


class Window:
    """A bootlab TUI window: lines() gives the content, this class fits it
    to the window (clipping, scrolling with the arrow keys when focused)."""

    TITLE = ""

    def __init__(self, win):
        self.win = win
        self.top = 0
        self.left = 0
        win.title = self.TITLE
        _windows.append(self)

    def close(self):
        if self in _windows:
            _windows.remove(self)

    def lines(self, color):
        raise NotImplementedError

    def content(self):
        """The lines to show, or the one line that says why there are none."""
        try:
            target.require_live()
        except gdb.GdbError as e:
            # "bootlab: no live target; connect first ..." -> "no live target"
            return [str(e).split(";")[0].replace("bootlab: ", "", 1)]
        try:
            return self.lines(use_color())
        except (gdb.error, gdb.GdbError) as e:
            return [str(e)]
        except Exception as e:   # a traceback would garble the TUI screen
            return ["bootlab: %s: %s" % (type(e).__name__, e)]

    def render(self):
        if not self.win.is_valid():
            return
        lines = self.content()
        width, height = self.win.width, self.win.height
        if width <= 0 or height <= 0:
            return
        self.top = max(0, min(self.top, len(lines) - height))
        widest = max((visible_len(l) for l in lines), default=0)
        self.left = max(0, min(self.left, widest - width))
        self.win.title = self.title(len(lines), widest)
        self.win.erase()
        shown = lines[self.top:self.top + height]
        for i, line in enumerate(shown):
            text = clip(line, width, self.left)
            # A full-width line already moves the cursor to the next row.
            if i < len(shown) - 1 and visible_len(text) < width:
                text += "\n"
            self.win.write(text)

    def title(self, rows, cols):
        width, height = self.win.width, self.win.height
        if rows <= height and cols <= width:
            return self.TITLE
        return "%s rows %d-%d/%d cols %d-%d/%d" % (
            self.TITLE, self.top + 1, min(rows, self.top + height), rows,
            self.left + 1, min(cols, self.left + width), cols)

    def vscroll(self, num):
        self.top = max(0, self.top + num)
        self.render()

    def hscroll(self, num):
        self.left = max(0, self.left + num)
        self.render()


class StateWindow(Window):
    """Mode, CS:IP, control registers, segment caches, GDTR and IDTR.
    A row that changed since the previous stop is drawn in yellow."""

    TITLE = "bootlab CPU state"

    def rows(self):
        """(key, text) pairs; the key names a row from one stop to the next.
        The first rows are exactly what `bl mode` and `bl cr` print."""
        snap = snapshot.current()
        st = snap.state
        lines = mode.mode_lines(st) + [summary_line(r, snap.regs) for r in CONTROL_REGS]
        out = [(text.split(":")[0].split(" ")[0], text) for text in lines]
        out.append(("head", "seg  sel   base      limit     hidden attributes"))
        for name, s in segments.rows(st):
            out.append((name, "%-4s %04x  %08x  %08x  %s" % (
                name, s.selector, s.base, s.limit, attr_text(s.flags, st.mode.long))))
        for name in ("GDT", "IDT"):
            base, limit = st.tables.get(name, (0, 0))
            out.append((name, "%sR       %08x  %08x  (%d bytes)" % (name, base, limit, limit + 1)))
        return out

    def lines(self, color):
        rows = self.rows()
        now = dict(rows)
        global _seen
        stop, then, before = _seen
        if stop != _stops:
            before = then
        _seen = (_stops, now, before)
        out = []
        for key, text in rows:
            if key in before and before[key] != text:
                text = paint(text, YELLOW, color)
            elif key in ("CR0", "CR4", "EFER"):   # the set bits, `[ PG ET PE ]`
                text = re.sub(r"\[ (.*) \]",
                              lambda g: "[ %s ]" % paint(g.group(1), GREEN, color), text)
            elif key in ("mode", "paging"):
                text = paint(text, BOLD + CYAN, color)
            elif key == "head":
                text = paint(text, DIM, color)
            out.append(text)
        return out


class VgaWindow(Window):
    """The 80x25 VGA text screen, from physical 0xb8000."""

    TITLE = "VGA text %dx%d at 0x%x" % (VGA_COLS, VGA_ROWS, VGA_TEXT_ADDR)

    def lines(self, color):
        data = vga.screen()
        # Plain lines come without trailing blanks: pad them, so the title's
        # column count is the screen's 80 either way.
        return [tui_colors(line) if color else line.ljust(VGA_COLS)
                for line in core_vga.lines(data, color)]


def _on_stop(*_):
    """A stop with no prompt after it (`continue &`, then `interrupt`) must
    draw too; a script that steps in a loop stops often, so stops draw at
    most every STOP_REDRAW_GAP_S: the prompt after the script draws the rest."""
    global _stops, _last_stop_drawn
    _stops += 1
    if not stepping.quiet[0] and time.monotonic() - _last_stop_drawn >= STOP_REDRAW_GAP_S:
        refresh()
        _last_stop_drawn = time.monotonic()


def refresh(*_):
    """Redraw the bootlab windows GDB shows now."""
    for w in list(_windows):
        w.render()


def register():
    """Make the window types and layouts; quietly nothing in a GDB built
    without the TUI (no `layout` command there)."""
    if not hasattr(gdb, "register_window_type"):
        return
    gdb.register_window_type(STATE_WINDOW, StateWindow)
    gdb.register_window_type(VGA_WINDOW, VgaWindow)
    for name, spec in LAYOUTS.items():
        gdb.execute("tui new-layout %s %s" % (name, spec), to_string=True)
    gdb.events.stop.connect(_on_stop)
    gdb.events.before_prompt.connect(refresh)
