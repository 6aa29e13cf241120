"""`bootlab-start ADDRESS`: the first stop of make debug, make gdb and
make debug-rr (the last command bootlab.cli gives GDB).

make debug gives QEMU a head start (bootlab/headstart.py): while GDB loads,
the launcher runs the BIOS up to ADDRESS, so GDB may find the CPU there
when it connects. Then there is nothing to do; otherwise (make gdb, a
recording, a guest slower than the head start) it is `thbreak *ADDRESS` and
`continue`, as typed by hand. Breakpoint 1 is that stop either way (made and
dropped at once when the CPU is there already), so the first breakpoint a
learner sets is number 2 whichever way the session began.
"""
import gdb

from . import snapshot, target


class StartCommand(gdb.Command):
    """Internal to bootlab: go to the session's first stop.
Usage: bootlab-start ADDRESS
Stay when the CPU is at the linear ADDRESS already; else thbreak *ADDRESS
and continue."""

    def __init__(self):
        super().__init__("bootlab-start", gdb.COMMAND_MAINTENANCE)

    def invoke(self, arg, from_tty):
        address = target.parse_int(arg.strip())
        if not target.is_live():
            raise gdb.GdbError("bootlab: not connected, so not at 0x%x" % address)
        if snapshot.current().state.pc_linear == address:
            before = {bp.number for bp in gdb.breakpoints()}
            gdb.execute("thbreak *0x%x" % address, to_string=True)
            for bp in gdb.breakpoints():
                if bp.number not in before:
                    bp.delete()
            return
        gdb.execute("thbreak *0x%x" % address)
        gdb.execute("continue")
