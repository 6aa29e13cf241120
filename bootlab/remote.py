"""QEMU's gdbstub as a debugger for bootlab's own loops that need no GDB
(make trace): registers by name, memory, the monitor, breakpoints, single
steps and bounded runs, over one loopback connection (gdbstub.Client).

    r = Remote(qemu.port)            # the target's register layout, its CPUs
    r.insert(BREAK, 0x7c00)
    r.resume(timeout=20)             # stop reply, or None: stopped after 20 s
    regs = r.registers(("rip", "cs", "cr0"))

Why not GDB: GDB's send_packet waits for each reply, so nothing can run
while QEMU steps, and what does run runs in GDB's Python, about half as
fast as python3's own. Here a step is written to the socket and the caller
does its own work while QEMU runs it (start_step(), then stop_reply()).

Threads are QEMU's CPUs, numbered from 1 (CPU 0 is thread 1). Without
`multiprocess+` in our qSupported QEMU names them plainly ("thread:02;").
Every wait is bounded; a stub that does not answer, or closes, is
TargetGone with one line saying so.
"""
import re
import time

from . import gdbstub

REPLY_S = 5.0           # any packet but a resume (QEMU answers in well under 1 ms)
MONITOR_S = 60.0        # a monitor command's whole output (100,000 lines take ~0.5 s)
INTERRUPT_S = 2.0       # the stop reply after an interrupt
STEP_PATIENCE_S = 1.0   # a single step's answer, before the CPU is interrupted
STEP_INTERRUPT_S = 0.5  # ... and the answer to that (a running CPU stops in microseconds)
# QEMU 7.2 now and then answers a single step without executing anything
# (same registers): a stepper steps again, this many times at most (a
# `jmp $` really stays where it is). rawstep.py and trace/tracer.py.
STEP_TRIES = 3
# The packet size assumed when qSupported names none; of each packet, the
# frame (`$`, `#`, two checksum digits) takes 4 bytes (GDB manual, "General
# Query Packets", "Overview"): FRAME_BYTES leaves a margin over that.
DEFAULT_PACKET_SIZE = 0x400
FRAME_BYTES = 16
# Z packet types (GDB manual, "Packets": z type,addr,kind).
BREAK, HW_BREAK, WRITE_WATCH = 0, 1, 2
STOP_THREAD = re.compile(rb"thread:([0-9a-f]+);")
OUR_FEATURES = b"qSupported:xmlRegisters=i386"


class RemoteError(Exception):
    """One line for the user."""


class TargetGone(RemoteError):
    """The stub closed the connection or stopped answering."""


class ConnectionLost(TargetGone):
    """The connection itself broke: QEMU is gone, or going."""

    def __init__(self, error):
        super().__init__("QEMU's gdbstub went away (%s)" % error)


class Remote:
    def __init__(self, port, timeout=REPLY_S):
        try:
            self.client = gdbstub.Client(port, timeout=timeout)
        except OSError as e:
            raise TargetGone("cannot connect to QEMU's gdbstub on port %d: %s"
                             % (port, e.strerror or e)) from None
        features = self.request(OUR_FEATURES)
        size = re.search(rb"PacketSize=([0-9a-f]+)", features)
        # An `m` reply is two hex digits a byte, framed: stay inside the packet size.
        packet = int(size.group(1), 16) if size else DEFAULT_PACKET_SIZE
        self.max_read = (packet - FRAME_BYTES) // 2
        self.request(b"?")      # the stop reply GDB asks for first; QEMU expects it
        self.layout = gdbstub.RegisterLayout.from_target_xml(self.read_feature)
        self.threads = self._threads()

    # ---- packets ----------------------------------------------------------------
    def request(self, data, timeout=None):
        try:
            return self.client.request(data, timeout)
        except TimeoutError:
            raise TargetGone("QEMU's gdbstub did not answer %r within %g s"
                             % (data[:24].decode("latin-1"),
                                self.client.timeout if timeout is None else timeout)) from None
        except (OSError, ConnectionError) as e:
            raise ConnectionLost(e) from None

    def read_feature(self, annex):
        """One target description document (qXfer:features:read), as text."""
        out = b""
        while True:
            reply = self.request(b"qXfer:features:read:%s:%x,%x"
                                 % (annex.encode(), len(out), self.max_read))
            if reply[:1] not in (b"m", b"l"):
                raise RemoteError("the target sends no description %s (%s)"
                                  % (annex, reply[:20].decode("latin-1")))
            out += gdbstub.unescape(reply[1:])
            if reply[:1] == b"l":
                return out.decode("utf-8", "replace")

    def _threads(self):
        found, reply = [], self.request(b"qfThreadInfo")
        while reply.startswith(b"m"):
            found += [int(t, 16) for t in reply[1:].split(b",") if t]
            reply = self.request(b"qsThreadInfo")
        return found or [1]

    # ---- state ------------------------------------------------------------------
    def select(self, cpu):
        """Registers (`g`) and memory (`m`) of this CPU from now on."""
        thread = cpu + 1
        if thread not in self.threads:
            raise RemoteError("the guest has no CPU %d" % cpu)
        if self.request(b"Hg%x" % thread) != b"OK":
            raise RemoteError("the target cannot select CPU %d" % cpu)

    def registers(self, names):
        """{name: int} of the selected CPU."""
        reply = self.request(b"g")
        if reply[:1] == b"E":
            raise RemoteError("the target refused to send registers (%s)" % reply.decode())
        return self.layout.decode(reply.decode("ascii"), names)

    def read(self, address, count):
        """count bytes at a linear address (QEMU walks the CPU's page
        tables), or None where it cannot read."""
        out = b""
        while len(out) < count:
            n = min(count - len(out), self.max_read)
            reply = self.request(b"m%x,%x" % (address + len(out), n))
            if not reply or reply[:1] == b"E":
                return None
            out += bytes.fromhex(reply.decode("ascii"))
        return out

    def monitor(self, command, timeout=MONITOR_S):
        """A monitor command's output (qRcmd: `O` packets of hex text, then
        OK), within timeout seconds in all."""
        deadline = time.monotonic() + timeout
        try:
            self.client.sock.sendall(gdbstub.frame(b"qRcmd," + command.encode().hex().encode()))
            text = []
            while True:
                left = deadline - time.monotonic()
                reply = self.client.reply(b"qRcmd", min(left, self.client.timeout))
                if reply.startswith(b"O") and reply != b"OK":
                    text.append(bytes.fromhex(reply[1:].decode("ascii")))
                    continue
                if reply[:1] == b"E":
                    raise RemoteError("QEMU's monitor refused `%s` (%s)"
                                      % (command, reply.decode("latin-1")))
                return b"".join(text).decode("utf-8", "replace")
        except TimeoutError:
            raise TargetGone("QEMU's monitor did not answer `%s` within %g s"
                             % (command, timeout)) from None
        except (OSError, ConnectionError) as e:
            raise ConnectionLost(e) from None

    # ---- breakpoints ------------------------------------------------------------
    def insert(self, kind, address, length=1):
        reply = self.request(b"Z%d,%x,%x" % (kind, address, length))
        if reply != b"OK":
            raise RemoteError("the target refused a %s at 0x%x (%s)" % (
                ("breakpoint", "hardware breakpoint", "write watchpoint")[kind], address,
                reply.decode("latin-1") or "not supported"))

    def remove(self, kind, address, length=1):
        self.request(b"z%d,%x,%x" % (kind, address, length))

    # ---- running ----------------------------------------------------------------
    def step_packet(self, cpu):
        """vCont;s:THREAD: that CPU alone runs one instruction."""
        return gdbstub.frame(b"vCont;s:%x" % (cpu + 1))

    def start_step(self, packet):
        """Send a step (step_packet()) and return at once: QEMU runs it while
        the caller works; stop_reply() collects its answer. Nothing else may
        be sent in between (a byte arriving while the CPU runs stops it)."""
        try:
            self.client.sock.sendall(packet)
        except OSError as e:
            raise ConnectionLost(e) from None

    def stop_reply(self, patience=STEP_PATIENCE_S):
        """The stop reply of the step start_step() sent. A step takes well
        under a millisecond; one unanswered after `patience` seconds is
        interrupted: a CPU still running stops and answers (the caller finds
        the registers unchanged and steps again), while a machine that shut
        down (a triple fault, with -no-shutdown) answers nothing at all, and
        its monitor can then be asked why: TargetGone."""
        try:
            try:
                reply = self.client.reply(b"vCont;s", patience)
            except TimeoutError:
                try:
                    reply = self.client.interrupt(STEP_INTERRUPT_S)
                except TimeoutError:
                    raise TargetGone("QEMU did not finish a single step within %g s, nor "
                                     "answer an interrupt" % patience) from None
        except (OSError, ConnectionError) as e:
            raise ConnectionLost(e) from None
        if not gdbstub.is_stop_reply(reply) or reply[:1] in (b"W", b"X"):
            raise TargetGone("the target did not stop after a step (%s)"
                             % reply[:40].decode("latin-1"))
        return reply

    def resume(self, timeout, cpu=None):
        """Run (every CPU, or only `cpu`) until a stop; the stop reply, or
        None when it did not stop within timeout seconds (it is stopped
        then: interrupted)."""
        packet = b"vCont;c" if cpu is None else b"vCont;c:%x" % (cpu + 1)
        try:
            return self.client.request(packet, timeout)
        except TimeoutError:
            pass
        except (OSError, ConnectionError) as e:
            raise ConnectionLost(e) from None
        try:
            self.client.interrupt(INTERRUPT_S)
        except (TimeoutError, OSError, ConnectionError):
            raise TargetGone("QEMU did not stop when interrupted") from None
        return None

    @staticmethod
    def stop_cpu(reply):
        """The CPU a stop reply names (thread:N;), or None."""
        m = STOP_THREAD.search(reply)
        return int(m.group(1), 16) - 1 if m else None

    def close(self):
        self.client.close()
