"""qemuargs.py: the QEMU command line of every bootlab run, in one place.

The machine comes from configs/qemu.args (one option per line, '#' comments);
the Makefile reads the same file. Python callers (tests, bench, crosscheck,
grader) import this module instead of parsing the file again.
"""
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QEMU = "qemu-system-x86_64"
# isa-debug-exit: the kernel's status byte v written to port 0xf4 ends QEMU
# with exit status (v << 1) | 1.
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
# A QEMU that GDB starts over a pipe (`target remote | exec ...`) outlives a
# GDB that exits without `kill` while the guest is paused (at a triple-fault
# shutdown, say). The parent-death signal ends it together with its GDB.
PIPE_CHILD = ["setpriv", "--pdeathsig", "KILL"]


def machine_args(cpu=None):
    """The options of configs/qemu.args; cpu replaces its -cpu model."""
    args = []
    for line in (ROOT / "configs" / "qemu.args").read_text().splitlines():
        args += line.split("#", 1)[0].split()
    if cpu:
        args[args.index("-cpu") + 1] = cpu
    return args


def disk_args(image):
    """The image as the IDE disk; snapshot=on keeps runs from writing to (and
    locking) the shared image."""
    return ["-drive", f"file={image},format=raw,if=ide,snapshot=on"]


def gdb_target(qemu_cmd):
    """GDB's `target remote` line for a QEMU started over a pipe."""
    return "target remote | exec " + shlex.join(PIPE_CHILD + list(qemu_cmd))


def command(image, *extra, cpu=None):
    """A headless QEMU booting image, with isa-debug-exit, plus extra options."""
    return [QEMU, *machine_args(cpu), *disk_args(image), "-display", "none",
            *DEBUG_EXIT, *extra]
