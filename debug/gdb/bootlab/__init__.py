"""bootlab: a GDB 13 extension for watching an x86 PC boot under QEMU.

Modules, one topic each:
  sdm       constants named as in the Intel SDM
  state     live-target checks, registers, cached `monitor info registers`
  command   the `bl` prefix, settings prefix, command base class
  mode      CPU/paging mode, mode-change messages, bl mode, bl next-mode
  disasm    capstone disassembler in the CPU's current mode
  regs      bl cr, bl regs
  segments  bl seg
  tables    bl gdt, bl idt
  phys      physical memory reads, bl phys
  paging    bl walk, bl maps
  vga       bl vga
  stops     real-mode breakpoints when CS != 0
  context   the display at each stop, bl context
  tui       the TUI windows and `layout bootlab`
  replay    position and direction in a recording (make debug-rr), bl replay
"""
import gdb

from . import command, context, disasm, mode, paging, phys, regs, segments, state
from . import replay, stops, tables, tui, vga

_loaded = False


def _on_stop(event):
    """Everything bootlab does when the target stops, each part on its own
    so one failure does not hide the others."""
    if mode.quiet or not state.is_live():
        return
    # replay first: the mode messages say whether the change was seen going back.
    for part in (stops.on_stop, replay.on_stop, lambda e: mode.check_change(),
                 lambda e: context.show_if_enabled()):
        try:
            part(event)
        except (gdb.error, gdb.GdbError) as e:
            print("bootlab: %s" % e)


def _on_exit(*_):
    mode.forget()
    replay.forget()
    context.reset()


class LinearPc(gdb.Function):
    """$bl_pc() is CS.base + IP: the linear address the CPU fetches from.
In real mode with CS != 0, `x/4i $bl_pc()` shows the code that runs, while
`x/4i $pc` would read at the bare offset."""

    def __init__(self):
        super().__init__("bl_pc")

    def invoke(self):
        state.require_live()
        return mode.linear_pc()


class Linear(gdb.Function):
    """$bl_linear(SEG, OFF) is SEG * 16 + OFF, a real-mode address."""

    def __init__(self):
        super().__init__("bl_linear")

    def invoke(self, seg, off):
        return (int(seg) << 4) + int(off)


def load():
    global _loaded
    if _loaded:
        return
    _loaded = True
    command.BlPrefix()
    command.SetPrefix()
    command.ShowPrefix()
    for cls in (mode.ModeCommand, mode.NextModeCommand, regs.CrCommand, regs.RegsCommand,
                segments.SegCommand, tables.GdtCommand, tables.IdtCommand,
                paging.WalkCommand, paging.MapsCommand, phys.PhysCommand,
                vga.VgaCommand, context.ContextCommand, replay.ReplayCommand):
        cls()
    mode.Messages()
    context.ContextParam()
    context.ContextLines()
    disasm.DisasmMode()
    vga.VgaCommand.color_param = vga.VgaColor()
    LinearPc()
    Linear()
    # Cache invalidation first, so every later handler sees this stop's state.
    state.connect_events()
    for registry in (gdb.events.cont, gdb.events.stop, gdb.events.memory_changed,
                     gdb.events.register_changed, gdb.events.exited):
        registry.connect(disasm.invalidate)
    gdb.events.stop.connect(_on_stop)
    gdb.events.exited.connect(_on_exit)
    disasm.register()
    stops.install_hook()
    tui.register()
