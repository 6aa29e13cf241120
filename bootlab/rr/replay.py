"""Serve a bootlab recording to GDB (make debug-rr).

    python3 -m bootlab.rr.replay RRDIR --listen-fd N

GDB talks to this relay as if it were QEMU's gdbstub, over loopback TCP on
the listening socket N that bootlab.session made (like QEMU's own gdbstub in
make debug); the relay starts QEMU replaying RRDIR (written by record.py)
and relays every packet both ways. It reads both sides eagerly and queues
what it sends to QEMU, so a monitor command with any amount of output
cannot deadlock it. It steps in for three things QEMU 7.2 gets wrong:

  bc (reverse-continue)  QEMU's own version replays the log twice, the
        second time from inside a timer callback, and deadlocks now and then
        (seen here: the same reverse-continue hung 1 time in 4, then 3 in 3).
        Here it is built from what proved reliable, forward replay: a fresh
        QEMU replays from instruction 0 to where we were, noting the
        instruction count of every breakpoint or watchpoint stop; a second
        fresh QEMU replays to the last one. A watchpoint stops *after* the
        write, so that goes one instruction less far: onto the instruction
        that wrote, where GDB's reverse watchpoints stop.
  the ends of the log    Replaying past the last recorded instruction makes
        QEMU exit, and seeking to instruction 0 never stops. A `replay_break`
        at the end keeps forward execution inside the log, and neither end
        is crossed: GDB gets a "replaylog" stop reply instead, which it
        reports as "No more reverse-execution history."
  bounds                 Every wait on QEMU has a time limit; a QEMU that
        stops answering is killed (SIGKILL: after reverse execution it was
        seen to ignore SIGTERM) and GDB is told the target is gone.

Everything else (registers, memory, breakpoints, and bs = reverse-stepi,
which QEMU does well: a fresh replay is the fallback when it hangs) passes
through untouched.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .. import gdbstub as rsp
from .. import proc
from . import rrargs

ACCEPT_TIMEOUT_S = 30       # GDB connects within milliseconds of our start
# Seconds QEMU may take to answer one request. A seek or a forward scan of
# the whole boot takes well under a second on an idle machine.
REPLY_TIMEOUT = float(os.environ.get("BOOTLAB_RR_TIMEOUT", "60"))
# Software and hardware breakpoints (Z0, Z1) and watchpoints (Z2-Z4).
BREAKPOINT_KINDS = (b"0", b"1")
# QEMU's own reverse step (load the start snapshot, replay to the count
# before) that takes longer than this has hung: the whole boot replays in
# well under a second.
SEEK_TIMEOUT = float(os.environ.get("BOOTLAB_RR_SEEK_TIMEOUT", "3"))
# Stop replies name a signal in GDB's own numbering (gdb/signals.def), two
# hex digits after T: a breakpoint, watchpoint or step is SIGTRAP; a VM
# paused from outside (QEMU's replay_break) is SIGINT.
STOP_TRAP = b"T%02x" % 5      # GDB_SIGNAL_TRAP
STOP_INT = b"T%02x" % 2       # GDB_SIGNAL_INT
ICOUNT = re.compile(r"instruction count = (\d+)")
STOP_THREAD = re.compile(rb"thread:[^;]*;")


class QemuGone(Exception):
    """QEMU exited or stopped answering; the session is over."""


# BOOTLAB_RR_DEBUG=FILE: every packet both ways, for debugging this relay.
_DEBUG = open(os.environ["BOOTLAB_RR_DEBUG"], "a") if os.environ.get("BOOTLAB_RR_DEBUG") else None


def trace(direction, data):
    if _DEBUG:
        _DEBUG.write("%.3f %s %r\n" % (time.monotonic(), direction, data[:120]))
        _DEBUG.flush()


def log(text):
    print("bootlab-rr: " + text, file=sys.stderr, flush=True)


class Relay:
    def __init__(self, spawn, end_icount):
        self.spawn = spawn
        self.qemu = spawn()
        self.end = end_icount
        self.from_gdb = rsp.Reader()
        self.from_qemu = rsp.Reader()
        self.noack = False        # after QStartNoAckMode both sides stop acking
        self.pending = []         # QEMU items read while waiting for another
        self.points = {}          # (kind, addr, len) -> Z packet, as GDB set them
        self.end_armed = False    # a replay_break at the end is in place
        self.last_thread = b"thread:p01.01;"
        self.expect_noack = False
        # Packets that set up protocol state (features, no-ack mode, the
        # selected thread, QEMU's settings), latest per name: a new QEMU
        # gets them again.
        self.setup = {}
        self.resumed = None       # (packet, instruction count) of GDB's continue
        self.qemu_out = bytearray()   # bytes for QEMU not yet written

    # ---- raw I/O ----------------------------------------------------------
    def to_gdb(self, data, packet=True):
        trace("relay->gdb ", data)
        os.write(1, rsp.frame(data) if packet else data)

    def to_qemu(self, data, packet=True):
        """Queue bytes for QEMU and write what its pipe takes now: a QEMU busy
        printing (a large monitor command) reads nothing, and a blocking
        write here would stop us reading what it prints: a deadlock."""
        trace("relay->qemu", data)
        self.qemu_out += rsp.frame(data) if packet else data
        self.flush_qemu()

    def flush_qemu(self):
        while self.qemu_out:
            try:
                n = os.write(self.qemu.stdin.fileno(), self.qemu_out)
            except BlockingIOError:
                return
            except OSError:
                raise QemuGone("QEMU closed its end")
            del self.qemu_out[:n]

    def writable(self):
        """QEMU's stdin, when we have something for it."""
        return [self.qemu.stdin.fileno()] if self.qemu_out else []

    def qemu_items(self, deadline, timeout=None):
        """The next items from QEMU (waits until deadline)."""
        if self.pending:
            items, self.pending = self.pending, []
            return items
        fd = self.qemu.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QemuGone("QEMU did not answer within %d s" % (timeout or REPLY_TIMEOUT))
            ready, can_write, _ = select.select([fd], self.writable(), [], left)
            if can_write:
                self.flush_qemu()
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    raise QemuGone("QEMU exited")
                items = self.from_qemu.feed(data)
                trace("qemu->relay", data)
                if items:
                    return items

    def qemu_packet(self, timeout=None):
        """The next packet from QEMU (acks consumed, packets acked)."""
        deadline = time.monotonic() + (timeout or REPLY_TIMEOUT)
        while True:
            items = self.qemu_items(deadline, timeout)
            for i, (kind, data) in enumerate(items):
                if kind == "pkt":
                    if not self.noack:
                        self.to_qemu(b"+", packet=False)
                    self.pending = items[i + 1:] + self.pending
                    return data

    def request(self, data):
        """Send our own packet to QEMU; its reply (console output skipped)."""
        self.to_qemu(data)
        while True:
            reply = self.qemu_packet()
            if not (reply.startswith(b"O") and reply != b"OK"):
                return reply

    def monitor(self, command, timeout=None):
        """A QEMU monitor command through the gdbstub (qRcmd); its output."""
        self.to_qemu(b"qRcmd," + rsp.hexstr(command))
        out = b""
        while True:
            reply = self.qemu_packet(timeout)
            if reply.startswith(b"O") and reply != b"OK":
                out += bytes.fromhex(reply[1:].decode())
            else:
                return out.decode(errors="replace")

    def icount(self):
        m = ICOUNT.search(self.monitor("info replay"))
        if not m:
            raise QemuGone("QEMU is not replaying")
        return int(m.group(1))

    def wait_stop(self, timeout=None):
        """Wait for a stop reply; console output goes on to GDB."""
        while True:
            reply = self.qemu_packet(timeout)
            if rsp.is_stop_reply(reply):
                self.remember_thread(reply)
                return reply
            if reply.startswith(b"O") and reply != b"OK":
                self.to_gdb(reply)

    def remember_thread(self, reply):
        m = STOP_THREAD.search(reply)
        if m:
            self.last_thread = m.group(0)

    # ---- replay primitives ------------------------------------------------
    def lift_points(self):
        """Take GDB's breakpoints and watchpoints out of QEMU: a seek must
        not stop at them."""
        for z in self.points.values():
            self.request(b"z" + z[1:])

    def put_back(self, points):
        for z in points:
            self.request(z)

    def seek(self, target):
        """Stand at instruction count target. Backwards means a fresh QEMU
        replaying from instruction 0 (restart()), then forward with a
        replay_break. (QEMU's replay_seek does not stop while GDB is attached,
        and loading the start snapshot with `loadvm` hung about one time in
        three right after a stop; a fresh QEMU costs about 0.2 s.)"""
        now = self.icount()
        if target == now:
            return
        if target < now:
            self.restart()
            now = 0
        else:
            self.lift_points()
        if target > now:
            self.run_to(target)
        self.put_back(list(self.points.values()))
        self.end_armed = False      # the break (or the new QEMU) has none

    def run_to(self, target, timeout=None):
        self.monitor("replay_break %d" % target)
        self.to_qemu(b"c")
        self.wait_stop(timeout)

    def restart(self):
        """A new QEMU at instruction 0, in the protocol state GDB set up."""
        self.qemu.kill()
        self.qemu.wait()
        for pipe in (self.qemu.stdin, self.qemu.stdout):
            pipe.close()
        self.qemu = self.spawn()
        self.from_qemu = rsp.Reader()
        self.pending = []
        self.qemu_out = bytearray()
        noack, self.noack = self.noack, False
        for data in self.setup.values():
            self.request(data)
            if data == b"QStartNoAckMode":
                self.noack = noack

    def arm_end(self):
        if not self.end_armed:
            self.monitor("replay_break %d" % self.end)
            self.end_armed = True

    def history_end(self):
        """The stop reply GDB reads as "No more reverse-execution history"."""
        return STOP_TRAP + self.last_thread + b"replaylog:;"

    def step_over_breakpoints(self):
        """Execute one instruction with our breakpoints lifted (QEMU would
        stop again at once on the one we stand on)."""
        bps = [z for key, z in self.points.items() if key[0] in BREAKPOINT_KINDS]
        for z in bps:
            self.request(b"z" + z[1:])
        self.to_qemu(b"s")
        self.wait_stop()
        for z in bps:
            self.request(z)

    def reverse_continue(self):
        """GDB's bc: back to the last breakpoint or watchpoint stop before now."""
        now = self.icount()
        if now == 0:
            return self.history_end()
        self.seek(0)
        last = None                              # (icount to return to, stop reply)
        # Forward to each stop, up to where we came from. A write there
        # counts (it was the instruction before), so the run may go one
        # instruction further, not past the end of the log.
        limit = min(now + 1, self.end) if self.end is not None else now + 1
        while True:
            self.monitor("replay_break %d" % limit)
            self.to_qemu(b"c")
            reply = self.wait_stop()
            at = self.icount()
            watch = re.search(rb"(?:watch|rwatch|awatch):", reply)
            if watch and reply.startswith(STOP_TRAP) and at <= now:
                last = (at - 1, reply)          # onto the writing instruction
                continue
            if watch or at >= now or not reply.startswith(STOP_TRAP):
                break
            last = (at, reply)
            self.step_over_breakpoints()
        self.monitor("replay_delete_break")
        if last is None:
            self.seek(0)
            return self.history_end()
        self.seek(last[0])
        return last[1]

    def reverse_step(self):
        """GDB's bs. QEMU's own is fine, except from instruction 1 (its seek
        to 0 never stops) and at 0 (nothing before)."""
        now = self.icount()
        if now == 0:
            return self.history_end()
        if now == 1:
            self.seek(0)
            return STOP_TRAP + self.last_thread
        self.end_armed = False
        self.to_qemu(b"bs")
        try:
            return self.wait_stop(SEEK_TIMEOUT)
        except QemuGone as e:
            log("%s; starting the replay afresh" % e)
            self.restart()
            self.run_to(now - 1)
            self.put_back(list(self.points.values()))
            return STOP_TRAP + self.last_thread

    # ---- the relay --------------------------------------------------------
    def from_gdb_packet(self, data):
        if data.startswith((b"qSupported", b"Q", b"H")):
            name = data[:2] if data.startswith(b"H") else data.split(b":")[0].split(b"=")[0]
            self.setup.pop(name, None)
            self.setup[name] = data
        if data.startswith((b"Z", b"z")):
            fields = data[1:].split(b",")
            key = tuple(fields[:3])
            if data.startswith(b"Z"):
                self.points[key] = data
            else:
                self.points.pop(key, None)
        if data == b"bc":
            self.to_gdb(self.reverse_continue())
            return
        if data == b"bs":
            self.to_gdb(self.reverse_step())
            return
        self.resumed = None
        if rsp.is_forward_resume(data) and self.end is not None:
            now = self.icount()
            if now >= self.end:
                self.to_gdb(self.history_end())
                return
            self.arm_end()
            if not re.search(rb"(^s|;s)", data):      # a continue, not a step
                self.resumed = (data, now)
        self.expect_noack = data == b"QStartNoAckMode"
        self.to_qemu(data)

    def from_qemu_packet(self, data):
        if rsp.is_stop_reply(data) and self.resumed and self.spurious(data):
            self.to_qemu(self.resumed[0])
            return
        if rsp.is_stop_reply(data):
            self.resumed = None
            self.remember_thread(data)
            # The replay_break at the end stops the VM like a pause (SIGINT).
            if data.startswith((STOP_INT, b"S" + STOP_INT[1:])) and self.end is not None \
                    and self.icount() >= self.end:
                self.end_armed = False
                data = self.history_end()
        if data == b"OK" and self.expect_noack:
            self.expect_noack = False
            self.noack = True
        self.to_gdb(data)

    def spurious(self, reply):
        """After a single step that hit a watchpoint, QEMU answers the next
        continue with a bare trap where it stands (seen with QEMU 7.2): no
        instruction ran, nothing to report. GDB shows it as SIGTRAP."""
        bare = re.fullmatch(re.escape(STOP_TRAP) + rb"thread:[^;]*;", reply)
        return bool(bare) and self.icount() == self.resumed[1]

    def run(self):
        gdb_fd = 0
        while True:
            qemu_fd = self.qemu.stdout.fileno()     # restart() replaces QEMU
            if self.pending:
                ready = [qemu_fd]
            else:
                ready, can_write, _ = select.select([gdb_fd, qemu_fd], self.writable(), [])
                if can_write:
                    self.flush_qemu()
            if gdb_fd in ready:
                data = os.read(gdb_fd, 65536)
                trace("gdb->relay ", data)
                if not data:
                    return                       # GDB went away
                for kind, item in self.from_gdb.feed(data):
                    if kind == "pkt":
                        if not self.noack:
                            self.to_gdb(b"+", packet=False)
                        self.from_gdb_packet(item)
                    elif kind == "int":
                        self.to_qemu(item, packet=False)
                    # Acks: each side is acked by us, so theirs are dropped.
            if qemu_fd in ready:
                if self.pending:
                    items, self.pending = self.pending, []
                else:
                    data = os.read(qemu_fd, 65536)
                    trace("qemu->relay", data)
                    if not data:
                        raise QemuGone("QEMU exited")
                    items = self.from_qemu.feed(data)
                for kind, item in items:
                    if kind == "pkt":
                        if not self.noack:
                            self.to_qemu(b"+", packet=False)
                        self.from_qemu_packet(item)


def private_copies(rrdir):
    """The recording's disks, copied for this session: replaying writes to
    them (snapshot loads), and a killed session must not spoil the recording."""
    sessions = rrdir / "sessions"
    sessions.mkdir(exist_ok=True)
    for old in sessions.iterdir():                # sessions whose server died
        if old.name.isdigit() and not Path("/proc", old.name).exists():
            shutil.rmtree(old, ignore_errors=True)
    mine = sessions / str(os.getpid())
    mine.mkdir()
    return mine


def accept_gdb(fd):
    """Take GDB's connection on the listening socket fd and put it on our
    stdin and stdout, where the relay reads and writes GDB's side."""
    listener = socket.socket(fileno=fd)
    listener.settimeout(ACCEPT_TIMEOUT_S)
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        sys.exit("bootlab-rr: no GDB connected within %d s" % ACCEPT_TIMEOUT_S)
    listener.close()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setblocking(True)
    os.dup2(conn.fileno(), 0)
    os.dup2(conn.fileno(), 1)
    conn.close()


def main():
    args = sys.argv[1:]
    if len(args) != 3 or args[1] != "--listen-fd" or not args[2].isdigit():
        sys.exit("usage: python3 -m bootlab.rr.replay RRDIR --listen-fd N")
    rrdir = Path(args[0])
    try:
        meta = json.loads((rrdir / rrargs.META).read_text())
    except (OSError, ValueError) as e:
        sys.exit("bootlab-rr: no usable recording in %s (%s); run make record" % (rrdir, e))
    accept_gdb(int(args[2]))
    session = private_copies(rrdir)
    cmd = rrargs.qemu_command("replay", rrdir / rrargs.LOG, session, session / "debugcon.log",
                              extra=["-S", "-gdb", "stdio"], shape=meta.get("machine"))

    def spawn():
        # Each QEMU gets fresh copies of the disks: an interrupted one may
        # have left its snapshot half loaded.
        for name in (rrargs.DISK, rrargs.SNAPSHOTS):
            shutil.copyfile(rrdir / name, session / name)
        qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                preexec_fn=proc.die_with_parent)
        os.set_blocking(qemu.stdin.fileno(), False)
        return qemu
    relay = Relay(spawn, meta.get("end_icount"))
    def stop(*_):
        relay.qemu.kill()
        shutil.rmtree(session, ignore_errors=True)
        os._exit(1)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, stop if sig != signal.SIGINT else signal.SIG_IGN)
    status = 0
    try:
        relay.run()
    except QemuGone as e:
        try:
            relay.qemu.wait(timeout=1)          # after GDB's kill it just exits
        except subprocess.TimeoutExpired:
            log("%s; stopping it" % e)
            try:
                os.write(1, rsp.frame(b"X09"))     # GDB: the program was killed
            except OSError:
                pass
            status = 1
    finally:
        relay.qemu.kill()
        relay.qemu.wait()
        shutil.rmtree(session, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
