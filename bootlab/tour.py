"""make tour: the guided tour of the boot path, as a transcript.

Starts QEMU paused (bootlab.session), GDB in batch mode with the lab's
setup and symbols, and the tour inside GDB (bootlab.gdbext.tour), whose
output goes to B/tour.txt as it comes; then shows it. No isa-debug-exit: the
guest halts at the end, so the screen can still be read.
"""
import sys

from . import project, session
from .qemu import cmdline

LIMIT_S = 120        # the whole tour; each leg has its own 20 s limit inside


def main(build=None):
    from .cli import build_dir
    b = build or build_dir()
    transcript = b / "tour.txt"
    machine = cmdline.Machine(disk=b / "bootlab.img", smp=cmdline.smp_from_env())
    with session.Qemu(lambda fd: cmdline.qemu(machine, debugcon=b / "tour-debugcon.log",
                                               gdb_fd=fd), b / "tour-qemu.log") as qemu:
        argv = cmdline.gdb(batch=True, symbols=project.elf_paths(b), commands=[
            qemu.target, "python import bootlab.gdbext.tour as t; t.main()"])
        result = session.batch_gdb(qemu, argv, LIMIT_S, cwd=project.ROOT, log=transcript)
    sys.stdout.write(result.output)
    if not result.ok:
        why = "timed out after %d s" % LIMIT_S if result.timed_out else "status %s" % result.status
        print("bootlab: tour failed (%s), transcript in %s" % (why, transcript))
        return 1
    print("bootlab: transcript in %s" % transcript)
    return 0
