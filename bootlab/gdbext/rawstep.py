"""Single steps sent straight to QEMU's gdbstub, for long loops (bl
next-mode, bl until).

GDB's `stepi` costs about a millisecond: it refetches registers, rebuilds
frames and runs every stop observer. A bare `s` packet and one `g` packet
(all registers in one reply, decoded at the offsets the target itself
reports) cost what the link costs. While raw steps run, GDB's caches are
stale: finish() flushes them (and the snapshot) before GDB looks again.
"""
import gdb

from .. import remote
from ..gdbstub import RegisterLayout, is_stop_reply
from . import snapshot, target


class TargetGone(gdb.GdbError):
    pass


class Stepper:
    """Steps GDB's selected CPU and reads its registers from `g` replies.
    The step is `vCont;s:THREAD`: that CPU alone runs one instruction, the
    others stay stopped; `Hg THREAD` makes `g` read that CPU."""

    def __init__(self, names=snapshot.REGS):
        table = gdb.execute("maint print remote-registers", to_string=True)
        self.layout = RegisterLayout.from_gdb_table(table)
        missing = [n for n in names if n not in self.layout.fields]
        if missing:
            raise gdb.GdbError("bootlab: the target sends no %s register" % ", ".join(missing))
        self.names = list(names)
        self.empty_steps = 0
        pid, tid, _ = gdb.selected_thread().ptid
        thread = "p%x.%x" % (pid, tid)
        self.step_packet = "vCont;s:" + thread
        if target.packet("Hg" + thread) != "OK":
            raise gdb.GdbError("bootlab: the target cannot select CPU %d for registers" % (tid - 1))
        # Looked up once, and bytes as GDB gives them: this runs thousands of
        # times, in GDB's Python (about half as fast as python3's own).
        self.send = target.raw_sender()
        self.decode = self.layout.decoder(self.names)

    def read(self):
        return self.decode(self.send("g"))

    def step(self, before=None):
        """One instruction; returns (stop reply, registers after). QEMU 7.2
        sometimes answers a step without executing anything under load (same
        registers): step again then, remote.STEP_TRIES times at most (a `jmp $`
        really stays where it is)."""
        for _ in range(remote.STEP_TRIES):
            reply = self.send(self.step_packet)
            if not is_stop_reply(reply) or reply[:1] in (b"W", b"X"):
                raise TargetGone("bootlab: the target did not stop after a step (%s)"
                                 % reply[:40].decode("latin-1"))
            regs = self.read()
            if before is None or regs != before or b"watch:" in reply:
                return reply.decode("latin-1"), regs
            self.empty_steps += 1
        return reply.decode("latin-1"), regs

    def finish(self):
        """Make GDB (and the snapshot) read the target afresh."""
        target.flush()
        snapshot.invalidate()
