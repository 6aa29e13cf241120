"""Drive `make debug KERNEL=<Debian's vmlinuz>` as a learner does, one
command at a time at GDB's prompt, for tests/test_linux_guide.py: fetch the
kernel package into a cache (never installing it), extract its vmlinuz,
then run the guide's commands, timing each, with Ctrl-C (SIGINT to GDB)
once the kernel's serial console says a line.

    /usr/bin/python3 -m tests.linuxguide    (prints the session, for the README)
"""
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import _descendants

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bootlab" / "linux"
PROMPT = "(gdb) "
STEP_TIMEOUT = 60


class Unreachable(Exception):
    """The package registry could not be asked or reached."""


def _run(argv, cwd=None, timeout=120):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def kernel_package():
    """The linux-image-6.1.0-N-amd64 that linux-image-amd64 depends on."""
    proc = _run(["apt-cache", "depends", "linux-image-amd64"], timeout=60)
    m = re.search(r"Depends: (linux-image-[0-9][\w.-]*-amd64)\b", proc.stdout)
    if not m:
        raise Unreachable("apt-cache knows no linux-image-amd64 (no package lists: "
                          "apt-get update)")
    return m.group(1)


def fetch():
    """(vmlinuz path, package name): from the cache, else apt-get download
    (as any user, into the cache) and dpkg-deb; the package is never installed."""
    package = kernel_package()
    version = package[len("linux-image-"):]
    vmlinuz = CACHE / "boot" / ("vmlinuz-%s" % version)
    if vmlinuz.exists():
        return vmlinuz, package
    CACHE.mkdir(parents=True, exist_ok=True)
    debs = list(CACHE.glob("%s_*.deb" % package))
    if not debs:
        proc = _run(["apt-get", "download", package], cwd=CACHE, timeout=600)
        debs = list(CACHE.glob("%s_*.deb" % package))
        if proc.returncode or not debs:
            said = (proc.stderr or proc.stdout).strip().splitlines()
            raise Unreachable("apt-get download %s failed: %s" % (package,
                                                                  said[-1] if said else "?"))
    # Only ./boot: the modules (most of the package) are not needed.
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(CACHE), "./boot"], stdin=tar.stdout, check=True,
                   timeout=300)
    tar.wait(timeout=60)
    return vmlinuz, package


class Session:
    """make debug with GDB's stdin a pipe: each command after a prompt."""

    def __init__(self, options, serial):
        self.serial = Path(serial)
        self.proc = subprocess.Popen(["make", "-s", "debug", *options], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "DISPLAY": ""})
        self.buffer = b""
        self.log = []                      # (command, output, seconds)
        started = time.monotonic()
        self.stop = self._until_prompt()
        self.log.append(("(start)", self.stop, time.monotonic() - started))

    def _until_prompt(self, timeout=STEP_TIMEOUT, interrupt_on=None):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        interrupted = False
        while PROMPT.encode() not in self.buffer:
            if interrupt_on and not interrupted and interrupt_on in self.console():
                self.sigint()
                interrupted = True
            if time.monotonic() > deadline:
                raise AssertionError("no prompt within %d s; so far:\n%s"
                                     % (timeout, self.buffer.decode(errors="replace")))
            if select.select([fd], [], [], 0.1)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError("make debug ended:\n" + self.buffer.decode(errors="replace"))
                self.buffer += chunk
        out, _, self.buffer = self.buffer.partition(PROMPT.encode())
        return out.decode(errors="replace")

    def console(self):
        return self.serial.read_text(errors="replace") if self.serial.exists() else ""

    def sigint(self):
        """Ctrl-C: SIGINT to GDB (in a terminal it reaches GDB alone)."""
        for pid in _descendants(self.proc.pid):
            try:
                if Path("/proc/%d/comm" % pid).read_text().strip() == "gdb":
                    os.kill(pid, signal.SIGINT)
            except OSError:
                pass

    def __call__(self, cmd, interrupt_on=None, timeout=STEP_TIMEOUT):
        started = time.monotonic()
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        out = self._until_prompt(timeout, interrupt_on)
        self.log.append((cmd, out, time.monotonic() - started))
        return out

    def end(self):
        try:
            self.proc.stdin.write(b"kill\nquit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def transcript(self):
        text = self.stop
        for cmd, out, _ in self.log[1:]:
            text += PROMPT + cmd + "\n" + out
        return text


# The guide, as README "Your own image or kernel" gives it: (command, the
# serial console line to wait for before Ctrl-C, or None).
APPEND = "nokaslr console=ttyS0 panic=-1"
MEM = "512M"
COMMANDS = [
    ("bl mode", None),
    ("x/3i $bl_pc()", None),
    ("hbreak *0x100000", None),
    ("continue", None),
    ("bl until mode", None),
    ("bl until mode", None),
    ("hbreak *0x1000000", None),
    ("continue", None),
    ("bl until cr3", None),
    ("bl until far", None),
    ("bl where 0x1000000", None),
    ("bl walk $pc", None),
    ("continue", "smpboot: Total of"),
    ("bl tss", None),
    ("bl apic", None),
    ("bl msr", None),
]


def run_guide(build, serial, elf):
    vmlinuz, package = fetch()
    options = ["KERNEL=%s" % vmlinuz, "APPEND=%s" % APPEND, "MEM=%s" % MEM,
               "SYMS=%s" % elf, "B=%s" % build, "QEMU_ARGS=-serial file:%s" % serial]
    s = Session(options, serial)
    try:
        for cmd, wait_for in COMMANDS:
            s(cmd, interrupt_on=wait_for)
    finally:
        s.end()
    return s


if __name__ == "__main__":
    import tempfile
    from bootlab.own import bzimage
    with tempfile.TemporaryDirectory() as tmp:
        vmlinuz, _ = fetch()
        elf = Path(tmp) / "vmlinux.elf"
        bzimage.write(vmlinuz, elf)
        s = run_guide(tmp, Path(tmp) / "serial.log", elf)
        print(s.transcript())
        for cmd, _, took in s.log:
            print("%-24s %6.2f s" % (cmd, took), file=sys.stderr)
