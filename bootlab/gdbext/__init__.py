"""bootlab's GDB extension: the `bl` commands, the stop display, the
disassembler that follows the CPU's mode, the TUI layout. An adapter: the
x86 knowledge is the core's (bootlab.x86, bootlab.qemu, bootlab.vga); this
package asks GDB and QEMU's monitor for the state and shows what the core
makes of it.

Modules, one topic each:
  target     the live target: checks, registers, monitor, raw packets, arguments
  snapshot   the selected CPU's state at this stop, invalidated in one place
  command    the `bl` prefix, settings prefix, command base class
  mode       bl mode, mode-change messages, bl next-mode, bl until
  cpus       bl cpus: every CPU at a glance
  stepping   raw single-stepping loops (rawstep.py: the `s`/`g` packets)
  disasm     the disassembler in the CPU's current mode
  regs       bl cr, bl regs;  segments  bl seg;  tables  bl gdt, bl idt
  phys       physical memory reads, bl phys;  paging  bl walk, bl maps
  systables  bl tss, bl ldt, bl msr, bl apic;  physmap  bl where, bl pbreak
  vga        bl vga;  context  the display at each stop, bl context
  stops      real-mode breakpoints when CS != 0, the stepping hooks
  start      the session's first stop (bootlab-start), after make debug's head start
  tui        the TUI windows and `layout bootlab`
  replay     position and direction in a recording (make debug-rr), bl replay
  scripting  what bootlab's own GDB scripts share
"""
import gdb

from . import command, context, cpus, disasm, mode, paging, phys, regs, replay, segments
from . import snapshot, start, stepping, stops, tables, target, tui, vga
from . import physmap, systables

_loaded = [False]


def _on_stop(event):
    """Everything bootlab does when the target stops, each part on its own
    so one failure does not hide the others."""
    if stepping.quiet[0] or not target.is_live():
        return
    # replay first: the mode messages say whether the change was seen going back.
    for part in (stops.on_stop, replay.on_stop, lambda e: mode.check_change(),
                 lambda e: context.show_if_enabled()):
        try:
            part(event)
        except (gdb.error, gdb.GdbError) as e:
            print("bootlab: %s" % e)
        except Exception as e:   # never a traceback at a stop
            print("bootlab: internal error at this stop (%s: %s)" % (type(e).__name__, e))
    snapshot.after_stop_handled()


def _on_exit(*_):
    for forget in (snapshot.forget, mode.forget, replay.forget, context.reset, phys.forget,
                   target.forget):
        forget()


class LinearPc(gdb.Function):
    """$bl_pc() is CS.base + IP: the linear address the CPU fetches from.
In real mode with CS != 0, `x/4i $bl_pc()` shows the code that runs, while
`x/4i $pc` would read at the bare offset."""

    def __init__(self):
        super().__init__("bl_pc")

    def invoke(self):
        target.require_live()
        return snapshot.current().state.pc_linear


class Linear(gdb.Function):
    """$bl_linear(SEG, OFF) is SEG * 16 + OFF: the linear address of the
real-mode address SEG:OFF (e.g. `x/2i $bl_linear(0x1020, 0x77)`)."""

    def __init__(self):
        super().__init__("bl_linear")

    def invoke(self, seg, off):
        from ..x86.addressing import real_linear
        return real_linear(int(seg) & 0xffff, int(off) & 0xffff)


def load():
    if _loaded[0]:
        return
    _loaded[0] = True
    command.BlPrefix()
    command.SetPrefix()
    command.ShowPrefix()
    for cls in (mode.ModeCommand, mode.NextModeCommand, mode.UntilCommand, regs.CrCommand,
                regs.RegsCommand, segments.SegCommand, tables.GdtCommand, tables.IdtCommand,
                paging.WalkCommand, paging.MapsCommand, phys.PhysCommand,
                vga.VgaCommand, context.ContextCommand, replay.ReplayCommand, cpus.CpusCommand,
                systables.TssCommand, systables.LdtCommand, systables.MsrCommand,
                systables.ApicCommand, physmap.WhereCommand, physmap.PbreakCommand):
        cls()
    mode.Messages()
    context.ContextParam()
    context.ContextLines()
    disasm.DisasmMode()
    vga.VgaColor()
    LinearPc()
    Linear()
    # The snapshot first, so every later handler sees this stop's state.
    gdb.events.stop.connect(snapshot.on_stop)
    gdb.events.cont.connect(snapshot.on_resume)
    for registry in (gdb.events.memory_changed, gdb.events.register_changed):
        registry.connect(snapshot.invalidate)
    for registry in (gdb.events.exited, gdb.events.new_objfile):
        registry.connect(snapshot.invalidate)
    gdb.events.exited.connect(_on_exit)
    if hasattr(gdb.events, "connection_removed"):
        gdb.events.connection_removed.connect(_on_exit)
    gdb.events.stop.connect(_on_stop)
    disasm.register()
    stops.install_hooks()
    start.StartCommand()
    tui.register()
