"""make run-headless: boot an image without a screen, the debug console
(port 0xE9) on stdout; exit 0 when the kernel reports success through
isa-debug-exit (QEMU's status 33), else 1 with one line saying what it was.

    python3 -m bootlab.qemu.run IMAGE
"""
import subprocess
import sys

from .. import proc, project
from . import cmdline

LIMIT_S = 60


def main(argv):
    if len(argv) != 1:
        print("usage: python3 -m bootlab.qemu.run IMAGE", file=sys.stderr)
        return 2
    success = (project.const("DEBUG_EXIT_SUCCESS") << 1) | 1
    try:
        machine = cmdline.Machine(disk=argv[0], smp=cmdline.smp_from_env())  # make's SMP=
    except cmdline.BadOption as e:
        print("bootlab: %s" % e)
        return 1
    argv = cmdline.qemu(machine, debugcon="stdio", debug_exit=True)
    try:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=LIMIT_S).returncode
    except subprocess.TimeoutExpired:
        print("bootlab: the guest was still running after %d s" % LIMIT_S)
        return 1
    if status != success:
        print("bootlab: guest exit status %d (%d = success)" % (status, success))
        return 1
    return 0


if __name__ == "__main__":
    proc.entry_point(lambda: main(sys.argv[1:]), "bootlab")
