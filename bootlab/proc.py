"""Running the tools' processes: every wait bounded, nothing left behind.

A process started here runs in a process group (or session) of its own, so
its whole tree can be ended with one signal to that group, and only ever
that group: never anything found by name. A child can also be told to die
with its parent (PR_SET_PDEATHSIG), so that even a parent killed with
SIGKILL leaves no emulator behind.
"""
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1        # <linux/prctl.h>
_libc = None


def die_with_parent(sig=signal.SIGKILL):
    """For preexec_fn: the kernel sends sig to this process when the thread
    that started it exits. (Only the main thread starts children here.)"""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


class Result:
    def __init__(self, status, output, timed_out):
        self.status = status          # exit status; None when it was ended for time
        self.output = output          # stdout and stderr together
        self.timed_out = timed_out

    @property
    def ok(self):
        return self.status == 0


def end_group(proc, sig=signal.SIGKILL):
    """Signal the process group proc leads (ours: it was started with a
    session of its own), then reap proc."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def run(cmd, timeout, input=None, cwd=None, env=None, text=True, log=None, pass_fds=()):
    """Run cmd in a session of its own, output captured (stderr into
    stdout); after timeout seconds the whole session is killed and what it
    printed so far is kept. Ctrl-C (KeyboardInterrupt) ends it too. With
    log (a path), the output goes to that file as it comes (so a run that
    hangs leaves what it saw) and is read back from it at the end."""
    sink = open(log, "w") if log else subprocess.PIPE
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=text, start_new_session=True,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=sink, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent, pass_fds=pass_fds)
    finally:
        if log:
            sink.close()
    timed_out = False
    try:
        out, _ = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        end_group(proc)
        out, _ = proc.communicate()
        timed_out = True
    except BaseException:
        end_group(proc)
        raise
    if log:
        with open(log, errors="replace") as f:
            out = f.read()
    return Result(None if timed_out else proc.returncode, out or "", timed_out)


class Ended(BaseException):
    """SIGTERM or SIGHUP reached an entry point: unwind, so every `finally`
    ends what it started (emulators, GDB, temporary directories)."""


def _end(sig, _frame):
    raise Ended(signal.Signals(sig).name)


def entry_point(main, name):
    """Run main() as a command-line program: its status is the exit status.
    SIGTERM and SIGHUP unwind it like Ctrl-C does (its `finally` blocks end
    what it started); it is sent SIGTERM itself when its parent dies (make
    killed with SIGKILL, say); a reader that goes away (`| head`) ends it
    quietly; Ctrl-C ends it with one line. Never a traceback for those."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _end)
    die_with_parent(signal.SIGTERM)
    try:
        status = main()
    except KeyboardInterrupt:
        print("%s: interrupted" % name, file=sys.stderr)
        status = 130
    except Ended as e:
        print("%s: ended by %s" % (name, e), file=sys.stderr)
        status = 143
    except BrokenPipeError:
        # Whoever read our output is gone; say nothing more to them.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(status or 0)


class TempDir:
    """A private temporary directory that goes away with its owner, however
    the owner ends: a watcher process holds a pipe from us and removes the
    directory when the pipe closes (our exit, our SIGKILL). Made under
    $BOOTLAB_TMP when set (the tests point it at a directory of their own)."""

    WATCHER = ("import os, shutil, sys; sys.stdin.buffer.read(); "
               "shutil.rmtree(sys.argv[1], ignore_errors=True)")

    def __init__(self, prefix):
        import tempfile
        self.path = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BOOTLAB_TMP") or None)
        self.watcher = subprocess.Popen([sys.executable, "-c", self.WATCHER, self.path],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)

    def remove(self):
        import shutil
        shutil.rmtree(self.path, ignore_errors=True)
        if self.watcher.poll() is None:
            self.watcher.stdin.close()
            try:
                self.watcher.wait(5)
            except subprocess.TimeoutExpired:
                self.watcher.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
