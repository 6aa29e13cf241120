"""QEMU paused with its gdbstub on loopback, and GDB attached to it.

    with session.Qemu(machine, log) as qemu:       # bound, started, paused
        result = session.batch_gdb(qemu, ["-ex", "continue", ...], timeout=30)

The listening socket is made here, on 127.0.0.1 at a port the kernel picks
(or the one asked for), and handed to QEMU as a file descriptor: the port is
known to be free and QEMU owns it from its first instruction, so two runs
never race for a port and nothing but loopback ever listens. QEMU's own
messages go to a log file (shown when it dies unexpectedly). QEMU dies with
this process (PR_SET_PDEATHSIG) and is killed by PID when the session ends.
"""
import errno
import os
import signal
import socket
import subprocess
import sys
import threading

from . import proc
from .qemu import cmdline

START_LIMIT_S = 10      # QEMU up (it answers GDB within ~0.1 s)
STOP_LIMIT_S = 5        # QEMU gone after SIGKILL
LAST_WORDS = 8          # lines of QEMU's log shown when it dies
# What QEMU writes to its log in a normal end (GDB's kill, the monitor's quit).
ORDINARY_LAST_WORDS = ("QEMU: Terminated via GDBstub", "terminating on signal")


class SessionError(Exception):
    """One line for the user (a busy port, QEMU that would not start)."""


def listen(port=0, host=cmdline.LOOPBACK):
    """A listening TCP socket on host:port (0: the kernel picks a free one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError as e:
        s.close()
        if e.errno == errno.EADDRINUSE:
            raise SessionError("port %d on %s is busy (another make qemu-gdb?); stop that, or "
                               "choose another: GDBPORT=N" % (port, host)) from None
        raise SessionError("cannot listen on %s:%d: %s" % (host, port, e.strerror)) from None
    s.listen(1)
    return s


class Qemu:
    """One QEMU, paused (-S) until GDB says continue, its gdbstub on a
    loopback socket. argv_for(fd) builds QEMU's command line around the
    listening descriptor (cmdline.qemu(..., gdb_fd=fd))."""

    def __init__(self, argv_for, log, port=0, stdin=subprocess.DEVNULL, new_session=True,
                 env=None, terminal=False, ram_bytes=None):
        # terminal: QEMU's stdout stays the caller's terminal (its curses
        # display refuses to start otherwise: "We need a terminal output").
        # ram_bytes: the guest runs in RAM shared with GDB (see gdb_env).
        self.terminal = terminal
        self.ram_bytes, self.ram_fd, self.ram_view = ram_bytes, None, None
        self.argv_for, self.log_path = argv_for, str(log)
        self.requested_port = port
        self.stdin, self.new_session, self.env = stdin, new_session, env
        self.proc = None
        self.port = None
        self.killed = False
        self.watcher = None

    # ---- life -------------------------------------------------------------------
    def start(self):
        sock = listen(self.requested_port)
        self.port = sock.getsockname()[1]
        fd = sock.fileno()
        argv = self.argv_for(fd)
        fds = (fd,)
        if self.ram_bytes:
            # A memfd: no file anywhere, gone with the last process that holds it.
            self.ram_fd = os.memfd_create("bootlab-guest-ram", os.MFD_CLOEXEC)
            os.ftruncate(self.ram_fd, self.ram_bytes)
            # GDB gets a read-only descriptor of it: nothing run from GDB can
            # write the guest's memory behind QEMU's back.
            self.ram_view = os.open("/proc/self/fd/%d" % self.ram_fd, os.O_RDONLY | os.O_CLOEXEC)
            argv = argv + cmdline.shared_ram_args(self.ram_fd, self.ram_bytes)
            fds += (self.ram_fd,)
        try:
            log = open(self.log_path, "wb")
        except OSError as e:
            sock.close()
            raise SessionError("cannot write QEMU's log %s: %s" % (self.log_path, e.strerror))
        try:
            self.proc = subprocess.Popen(argv, stdin=self.stdin,
                                         stdout=None if self.terminal else log, stderr=log,
                                         pass_fds=fds, start_new_session=self.new_session,
                                         preexec_fn=proc.die_with_parent, env=self.env)
        except OSError as e:
            raise SessionError("cannot start %s: %s" % (argv[0], e.strerror)) from None
        finally:
            log.close()
            sock.close()        # QEMU holds its own copy of the listening socket
        self.argv = argv
        return self

    @property
    def target(self):
        """GDB's command to attach."""
        return cmdline.gdb_target(self.port)

    def gdb_env(self):
        """What GDB's environment needs to read the shared guest RAM, if any
        (gdbext/guestram.py); gdb_fds() the descriptor to hand it."""
        if self.ram_view is None:
            return {}
        return {"BOOTLAB_GUEST_RAM_FD": str(self.ram_view)}

    def gdb_fds(self):
        return () if self.ram_view is None else (self.ram_view,)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Kill our QEMU by its PID (SIGKILL: after reverse execution QEMU was
        seen to ignore SIGTERM) and reap it; let go of the shared RAM."""
        if self.alive():
            self.killed = True
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self.ram_fd, self.ram_view):
            if fd is not None:
                os.close(fd)
        self.ram_fd = self.ram_view = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what went wrong ---------------------------------------------------------
    def last_words(self, lines=LAST_WORDS):
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()[-20000:]
        except OSError:
            return []
        return [l for l in text.splitlines() if l.strip()][-lines:]

    def died_badly(self):
        """QEMU ended by itself, not by our kill nor GDB's, with something to
        say: a crash, a refused option, a missing file."""
        if self.proc is None or self.proc.poll() is None or self.killed:
            return False
        words = [w for w in self.last_words() if not any(o in w for o in ORDINARY_LAST_WORDS)]
        return self.proc.returncode != 0 or bool(words)

    def death_note(self, within=0.0):
        """One paragraph on QEMU's end, or '' when it ended as expected.
        within: seconds to wait for it to end first (its socket closes a
        moment before the process is gone)."""
        if within and self.proc is not None:
            try:
                self.proc.wait(within)
            except subprocess.TimeoutExpired:
                pass
        if not self.died_badly():
            return ""
        status = self.proc.returncode
        how = ("was killed by signal %d" % -status) if status < 0 else "exited with status %d" % status
        words = self.last_words()
        return "bootlab: QEMU %s; its last words (%s):\n%s" % (
            how, self.log_path, "\n".join("  " + w for w in words) if words else "  (none)")

    def watch(self, out=sys.stderr):
        """Say at once when QEMU dies during an interactive session (GDB
        itself only says "Remote connection closed")."""
        def wait():
            self.proc.wait()
            note = self.death_note()
            if note:
                out.write("\n" + note + "\n")
                out.flush()
        self.watcher = threading.Thread(target=wait, daemon=True)
        self.watcher.start()


def batch_gdb(qemu, gdb_argv, timeout, input=None, cwd=None, env=None, log=None):
    """Run GDB (its argv holds qemu.target where it should attach) against a
    started Qemu; a proc.Result whose output ends with QEMU's death note
    when QEMU died on its own."""
    if qemu.gdb_env():
        env = {**(os.environ if env is None else env), **qemu.gdb_env()}
    result = proc.run(gdb_argv, timeout, input=input, cwd=cwd, env=env, log=log,
                      pass_fds=qemu.gdb_fds())
    note = qemu.death_note()
    if note:
        result.output += "\n" + note + "\n"
    return result


def interactive(argv, qemu=None):
    """Run argv (GDB) in the foreground of this terminal, as a process group
    of its own: Ctrl-C then reaches GDB alone (not make, not QEMU).
    Returns its exit status. Without a terminal it simply runs. qemu: the
    Qemu it attaches to (GDB gets its shared guest RAM, if any)."""
    extra = {}
    if qemu is not None and qemu.gdb_env():
        extra = dict(env={**os.environ, **qemu.gdb_env()}, pass_fds=qemu.gdb_fds())
    tty = None
    try:
        if os.isatty(0):
            tty = 0
    except OSError:
        tty = None
    if tty is None:
        child = subprocess.Popen(argv, preexec_fn=lambda: proc.die_with_parent(signal.SIGTERM),
                                 **extra)
        return _wait(child)
    old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    child = subprocess.Popen(argv, process_group=0,
                             preexec_fn=lambda: proc.die_with_parent(signal.SIGTERM), **extra)
    try:
        try:
            os.tcsetpgrp(tty, child.pid)
        except OSError:
            pass
        return _wait(child)
    finally:
        try:
            os.tcsetpgrp(tty, os.getpgrp())
        except OSError:
            pass
        signal.signal(signal.SIGTTOU, old_ttou)


def _wait(child):
    """Wait for the child; a SIGTERM or SIGHUP to us ends it too."""
    def end(sig, _frame):
        try:
            child.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    saved = {s: signal.signal(s, end) for s in (signal.SIGTERM, signal.SIGHUP)}
    ignore_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
        signal.signal(signal.SIGINT, ignore_int)
