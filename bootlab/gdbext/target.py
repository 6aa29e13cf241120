"""What every command needs from GDB's target: is it live and stopped, the
registers, QEMU's monitor, raw remote-protocol packets, and arguments
turned into numbers within their range. The one place that talks to GDB's
target for the others."""
import re

import gdb

ADDRESS_MAX = (1 << 64) - 1
_x86 = [False]          # this connection's target was found to be x86


def require_live():
    """Raise a one-line error unless a stopped, connected x86 target is selected."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or gdb.selected_thread() is None:
        raise gdb.GdbError("bootlab: no live target; connect first, e.g. make debug, or "
                           "target remote 127.0.0.1:PORT to a QEMU started with -S")
    if gdb.selected_thread().is_running():
        raise gdb.GdbError("bootlab: the target is running; interrupt it (Ctrl-C) first")
    # Asked once per connection (forget() clears it): building the newest
    # frame to learn the architecture costs ~30 us, at every stop.
    if not _x86[0]:
        if not gdb.newest_frame().architecture().name().startswith("i386"):
            raise gdb.GdbError("bootlab: the target is not an x86 CPU")
        _x86[0] = True


def is_live():
    try:
        require_live()
        return True
    except gdb.GdbError:
        return False


def monitor(cmd):
    """A QEMU monitor command's text."""
    try:
        return gdb.execute("monitor " + cmd, to_string=True)
    except gdb.error as e:
        raise gdb.GdbError("bootlab: `monitor %s` failed (%s); bootlab needs QEMU's gdbstub"
                           % (cmd, str(e).strip()))


def packet(text):
    """Send one remote-protocol packet, return the reply as text (GDB 13's
    RemoteTargetConnection.send_packet: no CLI formatting to undo)."""
    return sender()(text)


def raw_sender():
    """The current connection's send_packet: a packet (text) in, its reply
    out as bytes (GDB 13), for loops that send many."""
    conn = gdb.selected_inferior().connection
    if not hasattr(conn, "send_packet"):
        raise gdb.GdbError("bootlab: the target is not a remote (gdbstub) connection")
    return conn.send_packet


def sender():
    """packet() for the current connection, for loops that send many."""
    send = raw_sender()

    def send_text(text):
        reply = send(text)
        return reply.decode("latin-1") if isinstance(reply, bytes) else str(reply)
    return send_text


def flush():
    """Forget what GDB cached of the target: after raw packets ran the CPU."""
    gdb.execute("maint flush register-cache", to_string=True)
    gdb.execute("maint flush dcache", to_string=True)


def reg(name):
    """An integer register of the selected thread's innermost frame."""
    return int(gdb.newest_frame().read_register(name)) & ADDRESS_MAX


def read_regs(names):
    frame = gdb.newest_frame()
    return {n: int(frame.read_register(n)) & ADDRESS_MAX for n in names}


def parse_int(text, what="address", lo=0, hi=ADDRESS_MAX):
    """A GDB expression as an int within lo..hi, or a one-line error that
    names the range (a negative number is refused, not wrapped to 2^64-1)."""
    if not text:
        raise gdb.GdbError("bootlab: missing %s" % what)
    try:
        value = int(gdb.parse_and_eval(text))
    except (gdb.error, ValueError, OverflowError) as e:
        raise gdb.GdbError("bootlab: bad %s %r: %s" % (what, text, e))
    if not lo <= value <= hi:
        raise gdb.GdbError("bootlab: %s %s is out of range (%s..%s)" % (
            what, text, _num(lo), _num(hi)))
    return value


def _num(n):
    return "%d" % n if abs(n) <= 10 ** 9 else "0x%x" % n


_cpus = [None]


def cpu_count():
    """How many CPUs the guest has (QEMU shows each as a GDB thread). Asked
    once per connection: Inferior.threads() costs ~0.2 ms, and the count of
    QEMU's CPUs never changes while it runs."""
    if _cpus[0] is None:
        _cpus[0] = len(gdb.selected_inferior().threads())
    return _cpus[0]


def forget(*_):
    _cpus[0] = None
    _x86[0] = False


def thread_cpu():
    """QEMU's CPU index of GDB's selected thread: QEMU numbers threads
    p1.1, p1.2, ... for CPU 0, 1, ... (ptid (1, N, 0))."""
    t = gdb.selected_thread()
    return max(t.ptid[1] - 1, 0) if t else 0


def format_address(addr):
    """' <symbol+off>' for an address GDB has a symbol for, else ''."""
    text = gdb.format_address(addr)
    i = text.find(" <")
    return text[i:] if i >= 0 else ""


_STOP_SIGNAL = re.compile(r"^[TS]([0-9a-f]{2})")


def stop_signal(reply):
    m = _STOP_SIGNAL.match(reply)
    return int(m.group(1), 16) if m else None
