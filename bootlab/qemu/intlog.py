"""lab/qemu-log.sh: boot a build's image headless under QEMU's interrupt and
reset log, for the bug hunts (lab/README.md), and say what the log holds.

    python3 -m bootlab.qemu.intlog [--reboot] [BUILD_DIR]    (default build/)

The machine is the lab's own (configs/qemu.args, through cmdline.py) with
  -d int,cpu_reset   every interrupt and exception (vector v=, error code
                     e=, CS:IP, pc=, CR2 for #PF, all registers) and every
                     CPU reset, logged to BUILD_DIR/qemu-int.log
  no -no-shutdown    so that a triple fault (which -no-reboot turns into a
                     shutdown) ends QEMU instead of leaving it paused;
  --reboot           also without -no-reboot: the guest reboots as a PC
                     would, and QEMU is stopped after REBOOT_S seconds.
The debug console (port 0xE9) goes to BUILD_DIR/debugcon.log.

The counts say which exceptions the firmware raised itself. After a reset
that SeaBIOS did not ask for (its POST has run already and QEMU does not
restore its shadowed code), SeaBIOS reboots the machine "hard": it copies
its code back from the ROM, writes port 0xcf9 (PCI reset) and, to be sure,
runs `int3` with an empty IDT, a triple fault (SeaBIOS src/fw/shadow.c,
qemu_reboot). Those exceptions are the BIOS's, not the boot code's.
"""
import argparse
import sys
from pathlib import Path

from .. import proc, project
from . import cmdline, logs

LIMIT_S = 10        # a boot that neither exits nor shuts down by then hangs
REBOOT_S = 1        # --reboot: long enough for a few rounds of a reboot loop


def command(image, log, reboot=False, debugcon=None):
    """QEMU's argv for one logged headless boot of image."""
    drop = ("-no-shutdown", "-no-reboot") if reboot else ("-no-shutdown",)
    return cmdline.qemu(cmdline.Machine(disk=image), debugcon=debugcon, debug_exit=True,
                        drop=drop, extra=["-d", "int,cpu_reset", "-D", str(log)])


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def report(text, log_name):
    """The summary lines of a log's text."""
    resets, faults, triples = logs.counts(text)
    lines = ["qemu-log: %s, %s, %s in %s" % (plural(resets, "CPU reset"),
                                             plural(faults, "exception"),
                                             plural(triples, "triple fault"), log_name)]
    in_bios = sum(1 for pc in logs.exception_sites(text) if pc is not None
                  and logs.in_firmware(pc))
    if in_bios:
        lines.append("qemu-log: %d of them inside the BIOS, %d in bootlab's code: after a reset "
                     "it did not ask for, SeaBIOS reboots again with a triple fault of its own"
                     % (in_bios, faults - in_bios))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lab/qemu-log.sh",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reboot", action="store_true",
                        help="let the guest reboot (no -no-reboot), for %d s" % REBOOT_S)
    parser.add_argument("build", nargs="?", default="build")
    args = parser.parse_args(argv)
    b = Path(args.build)
    image = b / "bootlab.img"
    if not image.is_file():
        print("qemu-log: no %s: build it first (make, or make BUG=NAME)" % image)
        return 1
    log = b / "qemu-int.log"
    log.unlink(missing_ok=True)
    limit = REBOOT_S if args.reboot else LIMIT_S
    run = proc.run(command(image, log, args.reboot, b / "debugcon.log"), limit)
    success = (project.const("DEBUG_EXIT_SUCCESS") << 1) | 1
    failure = (project.const("DEBUG_EXIT_FAILURE") << 1) | 1
    if run.timed_out:
        print("qemu-log: QEMU was still running after %d s and was stopped (%s)"
              % (limit, "the guest reboots in a loop, or hangs" if args.reboot
                 else "the guest hangs, or reboots"))
    else:
        # QEMU's own complaints (a bad option, a missing file), if any.
        sys.stdout.write(run.output)
        print("qemu-log: QEMU ended with status %d (0 = the guest shut down, e.g. a triple "
              "fault; %d = kernel passed; %d = failed)" % (run.status, success, failure))
    if not log.exists():
        print("qemu-log: QEMU wrote no log to %s" % log)
        return 1
    print("\n".join(report(log.read_text(errors="replace"), log)))
    return 0


if __name__ == "__main__":
    proc.entry_point(main, "qemu-log")
