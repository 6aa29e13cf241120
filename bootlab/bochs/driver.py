"""Run Bochs 2.7 (Debian's build, internal debugger) for bootlab.

Everything the Bochs scripts share: preflight checks (BIOS files, display
plugin), the private run directory, stale-lock handling, and BochsSession,
which drives Bochs' debugger over a pipe with a time limit on every wait.

What was seen on Debian 12 with Bochs 2.7, and what this module does about it:
- With stdin a pipe, the debugger prints its prompt "<bochs:N> " and flushes
  it, so a command's output is everything up to the next prompt.
- SIGINT while the guest runs (`c`) drops back to the prompt, like Ctrl-C at
  a terminal; that is how a `c` that takes too long is stopped and located.
- SIGTERM does NOT end Bochs while the guest runs (it is caught and the
  process sleeps on); only SIGKILL does, and a killed Bochs leaves
  IMAGE.lock behind. So every run gets a private copy of the image in a temp
  dir that is removed afterwards, and we kill only our own PID.
- Bochs autodetects a flat disk's geometry as 16 heads x 63 sectors and
  cylinders = size / (16*63*512): an image below 504 KiB gets 0 cylinders
  and the BIOS says "No bootable device". The private copy is padded with
  zeros to a whole cylinder; the guest reads the same bytes as in QEMU.
- display_library term with the debugger opens its own pseudo-terminal and
  announces it on stderr ("Bochs connected to screen "/dev/pts/N""). Nobody
  reads it unless we do, so a reader thread drains it (its pty buffer would
  otherwise fill up and block Bochs) and keeps the bytes.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from .. import proc, project

ROOT = str(project.ROOT)
BOCHSRC = str(project.CONFIGS / "bochsrc")
BUILD = os.path.abspath(os.environ.get("BOOTLAB_BUILD") or project.BUILD)   # make B=...
IMAGE = os.path.join(BUILD, "bootlab.img")
SYMBOL_FILES = project.SYMBOL_FILES

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGA_BIOS = "/usr/share/bochs/VGABIOS-lgpl-latest"
PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu/bochs/plugins"
# display_library -> (plugin file, Debian package that ships it)
DISPLAYS = {"term": ("libbx_term_gui.so", "bochs-term"), "x": ("libbx_x_gui.so", "bochs-x")}

CYLINDER_BYTES = 16 * 63 * 512      # Bochs' autodetected geometry, see above
PROMPT = re.compile(rb"<bochs:\d+> $")
TERM_FALLBACK = "xterm"
PTY_ANNOUNCE = re.compile(rb'connected to screen "([^"]+)"')

# Time limits (seconds). A whole boot takes about 0.3 s; these only bound a
# guest or a Bochs that misbehaves.
START_LIMIT = 10        # Bochs up and at its first prompt
COMMAND_LIMIT = 10      # an inspection command (creg, sreg, xp, ...)
# `c` from one transition to the next; BOOTLAB_BOCHS_LEG_LIMIT overrides it
# (the tests use 1 s to check what a hanging guest looks like).
LEG_LIMIT = float(os.environ.get("BOOTLAB_BOCHS_LEG_LIMIT", "10"))
INTERRUPT_LIMIT = 5     # back at the prompt after SIGINT
QUIT_LIMIT = 3          # Bochs gone after `q`, before we SIGKILL it


class BochsError(Exception):
    """A problem with one clear sentence for the learner (no traceback)."""


def say(msg):
    print("bootlab: " + msg, flush=True)


# ---- Preflight -----------------------------------------------------------------

def default_display():
    """x when there is an X display, else term (the text screen on a pty)."""
    return "x" if os.environ.get("DISPLAY") else "term"


def preflight(display, bios=BIOS, vga_bios=VGA_BIOS, plugin_dir=PLUGIN_DIR):
    """Raise BochsError naming the missing piece and its Debian package."""
    if shutil.which("bochs") is None:
        raise BochsError("bochs is not installed: run tools/setup.sh bochs (Debian package bochs)")
    for path, pkg in ((bios, "bochsbios"), (vga_bios, "vgabios")):
        if not os.path.exists(path):
            raise BochsError(f"Bochs BIOS file {path} is missing: install the Debian package {pkg} (tools/setup.sh bochs)")
    if display not in DISPLAYS:
        raise BochsError(f"unknown display '{display}' (use x or term)")
    plugin, pkg = DISPLAYS[display]
    if not os.path.exists(os.path.join(plugin_dir, plugin)):
        raise BochsError(f"Bochs display library '{display}' is missing ({plugin_dir}/{plugin}): "
                         f"install the Debian package {pkg} (tools/setup.sh bochs)")
    if display == "x" and not os.environ.get("DISPLAY"):
        raise BochsError("display x needs an X server, but $DISPLAY is not set: use BOCHS_DISPLAY=term")


def need_build(paths):
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise BochsError(f"{os.path.relpath(missing[0], ROOT)} is missing: run make first")


# ---- Locks ---------------------------------------------------------------------

def processes_with_open(path):
    """[(pid, command name)] of live processes that hold `path` open (/proc/*/fd)."""
    real = os.path.realpath(path)
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue            # gone, or not ours to look at
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == real:
                    with open(f"/proc/{pid}/comm") as f:
                        found.append((int(pid), f.read().strip()))
                    break
            except OSError:
                continue
    return found


def clear_stale_lock(image):
    """Handle IMAGE.lock, which Bochs leaves behind when it is killed.

    Bochs' lock file is empty (no PID in it), so the only safe test is
    whether a live process still has the image open. If one does, the lock is
    real and stays: raise BochsError. Otherwise remove it and say so.
    Returns True when a stale lock was removed.
    """
    lock = image + ".lock"
    if not os.path.exists(lock):
        return False
    # Only a Bochs counts: QEMU (make debug, say) opens the same image too,
    # read-only (snapshot=on), and takes no lock.
    users = [(pid, name) for pid, name in processes_with_open(image) if name.startswith("bochs")]
    if users:
        who = ", ".join(f"{name} (PID {pid})" for pid, name in users)
        raise BochsError(f"{os.path.relpath(lock, ROOT)} is held by a running {who}: "
                         "leaving it alone; end that Bochs first")
    os.remove(lock)
    say(f"removed stale lock {os.path.relpath(lock, ROOT)} (left by a killed Bochs; no process has the image open)")
    return True


# ---- Private run directory -------------------------------------------------------

class RunDir:
    """A fresh temp dir holding a padded copy of the image and the log."""

    def __init__(self, image=IMAGE, keep_log_as=None, cpus=1):
        need_build([image])
        clear_stale_lock(image)
        # proc.TempDir: removed by a watcher even when we are killed with
        # SIGKILL; under BOOTLAB_TMP when a caller (the tests) wants to count
        # its own temporary files and nobody else's.
        self.tmp = proc.TempDir("bootlab-bochs-")
        self.path = self.tmp.path
        self.image = os.path.join(self.path, "bootlab.img")
        self.log = os.path.join(self.path, "bochs.log")
        self.keep_log_as = keep_log_as
        self.cpus = cpus                 # configs/bochsrc: cpu: count=$BOOTLAB_CPUS
        shutil.copyfile(image, self.image)
        size = os.path.getsize(self.image)
        padded = max(CYLINDER_BYTES, -(-size // CYLINDER_BYTES) * CYLINDER_BYTES)
        os.truncate(self.image, padded)

    def env(self, display):
        env = dict(os.environ)
        if display == "term" and not env.get("TERM"):
            # Bochs' term display starts curses, which gives up without TERM
            # (cron, CI, a bare chroot); it draws on a pty of its own, which
            # nobody's terminal shows as it is, so any common type will do.
            env["TERM"] = TERM_FALLBACK
        env.update(BOOTLAB_IMAGE=self.image, BOOTLAB_LOG=self.log, BOOTLAB_DISPLAY=display,
                   BOOTLAB_CPUS=str(self.cpus))
        return env

    def log_tail(self, pattern=r"PANIC|exception with no resolution", lines=5):
        try:
            with open(self.log, errors="replace") as f:
                hits = [l.rstrip() for l in f if re.search(pattern, l)]
        except OSError:
            return []
        return hits[-lines:]

    def keep_log(self):
        if self.keep_log_as and os.path.exists(self.log):
            os.makedirs(os.path.dirname(self.keep_log_as), exist_ok=True)
            shutil.copyfile(self.log, self.keep_log_as)
            return self.keep_log_as
        return None

    def remove(self):
        self.tmp.remove()


# ---- Driving the debugger ----------------------------------------------------------

class BochsSession:
    """One Bochs process whose debugger we drive over stdin/stdout.

    Every read has a time limit; close() always leaves no process behind
    (`q`, then SIGKILL of our own PID if it is still there).
    """

    def __init__(self, run_dir, display="term", bochsrc=BOCHSRC):
        preflight(display)
        self.run_dir = run_dir
        self.screen = bytearray()       # what term drew on its pty
        self.stderr = bytearray()
        self.pty_path = None
        self._buf = b""
        self.proc = subprocess.Popen(
            ["bochs", "-q", "-f", bochsrc], env=run_dir.env(display), cwd=run_dir.path,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,     # Ctrl-C at make goes to us, not to Bochs
            preexec_fn=proc.die_with_parent)   # and it dies with us, whatever kills us
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.banner = self._until_prompt(START_LIMIT)
        if self.banner is None:
            self.close()
            raise BochsError(f"Bochs did not reach its debugger prompt within {START_LIMIT} s")
        if not self.alive() and not PROMPT.search(self.banner or b""):
            raise BochsError("Bochs stopped before its debugger prompt: " + self.exit_reason())

    # stderr carries Bochs' start-up chatter, PANIC messages and the pty name.
    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            self.stderr += line
            m = PTY_ANNOUNCE.search(line)
            if m and self.pty_path is None:
                self.pty_path = m.group(1).decode()
                threading.Thread(target=self._drain_pty, daemon=True).start()

    def _drain_pty(self):
        try:
            fd = os.open(self.pty_path, os.O_RDONLY | os.O_NOCTTY)
        except OSError:
            return
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:         # EIO: Bochs closed its end
                    break
                if not chunk:
                    break
                self.screen += chunk
        finally:
            os.close(fd)

    def alive(self):
        return self.proc.poll() is None

    def exit_reason(self):
        text = self.stderr.decode(errors="replace")
        m = re.search(r"Bochs is exiting with the following message:\s*\n(.*)", text)
        if m:
            return m.group(1).strip()
        hits = self.run_dir.log_tail(r"PANIC")
        if hits:
            return hits[-1]
        try:
            status = self.proc.wait(QUIT_LIMIT)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if status < 0:
            return f"Bochs was killed by signal {-status} ({signal.Signals(-status).name})"
        return f"Bochs exited with status {status}"

    def _until_prompt(self, limit):
        """Output up to the next prompt, b'...' at EOF, None on timeout."""
        deadline = time.monotonic() + limit
        out = self.proc.stdout
        while True:
            m = PROMPT.search(self._buf)
            if m:
                text, self._buf = self._buf[:m.start()], b""
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                return None
            chunk = os.read(out.fileno(), 65536)
            if not chunk:               # Bochs exited: say why, not "no output"
                text, self._buf = self._buf, b""
                if not text.strip():
                    raise BochsError("Bochs ended: " + self.exit_reason())
                return text
            self._buf += chunk

    def command(self, line, limit=COMMAND_LIMIT):
        """Run one debugger command; return its output (str, echo removed)."""
        if not self.alive():
            raise BochsError("Bochs is no longer running: " + self.exit_reason())
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise BochsError("Bochs is no longer running: " + self.exit_reason())
        text = self._until_prompt(limit)
        if text is None:
            raise BochsError(f"Bochs did not answer '{line}' within {limit} s")
        text = text.decode(errors="replace")
        if text.startswith(line + "\n"):    # the debugger echoes piped input
            text = text[len(line) + 1:]
        if not self.alive() and line not in ("q", "quit", "exit"):
            raise BochsError(f"Bochs stopped during '{line}': " + self.exit_reason()
                             + (("\n" + text.rstrip()) if text.strip() else ""))
        return text

    def cont(self, limit=LEG_LIMIT):
        """`c`; returns (output, timed_out). After a timeout the guest has
        been interrupted with SIGINT and the output says where it was."""
        if not self.alive():
            raise BochsError("Bochs is no longer running: " + self.exit_reason())
        self.proc.stdin.write(b"c\n")
        self.proc.stdin.flush()
        text = self._until_prompt(limit)
        timed_out = text is None
        if timed_out:
            self.proc.send_signal(signal.SIGINT)
            text = self._until_prompt(INTERRUPT_LIMIT)
            if text is None:
                raise BochsError(f"the guest ran for {limit} s without stopping and Bochs "
                                 "did not come back to its prompt after SIGINT")
        text = text.decode(errors="replace")
        if text.startswith("c\n"):
            text = text[2:]
        if not self.alive():
            raise BochsError("Bochs stopped while the guest ran: " + self.exit_reason()
                             + (("\n" + text.rstrip()) if text.strip() else ""))
        return text, timed_out

    def close(self):
        """Quit Bochs; SIGKILL our own process if `q` does not end it."""
        if self.alive():
            try:
                self.proc.stdin.write(b"q\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(QUIT_LIMIT)
            except subprocess.TimeoutExpired:
                # SIGTERM is not enough while the guest runs (see above).
                self.proc.kill()
                self.proc.wait(QUIT_LIMIT)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (BrokenPipeError, OSError):
                pass
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def symbol_paths(build=BUILD):
    return [str(p) for p in project.symbol_paths(build)]


def load_symbols(session, build=BUILD):
    """`ldsym global` each symbol file so names appear in "Next at" lines,
    in `u` output and in `lb "name"`."""
    need_build(symbol_paths(build))
    for path in symbol_paths(build):
        out = session.command(f'ldsym global "{path}"')
        if out.strip():
            raise BochsError(f"ldsym {os.path.relpath(path, ROOT)}: {out.strip()}")
