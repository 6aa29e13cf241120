"""What bootlab's GDB scripts share (the tour, the grader's probe, the
cross-check, the bench): a `continue` with a time limit, and an
end that never fails; and, for an editor that attaches GDB by itself (the
VS Code configuration in .vscode/), make gdb's symbols and first stop.

Every script runs under `gdb -batch`, where any error aborts the rest; these
two make sure a guest that hangs is interrupted, and a guest already gone
(its QEMU exited, the link broke) ends the session quietly.
"""
import threading

import gdb


def continue_for(seconds, to_string=False):
    """Run `continue`; if no stop comes within seconds, interrupt the guest.
    Returns (what `continue` printed when to_string, else None; timed_out).
    gdb.error (e.g. the guest exited) reaches the caller."""
    fired = threading.Event()

    def interrupt():
        fired.set()
        gdb.post_event(lambda: gdb.execute("interrupt"))

    timer = threading.Timer(seconds, interrupt)
    timer.start()
    try:
        text = gdb.execute("continue", to_string=to_string)
    finally:
        timer.cancel()
    return text, fired.is_set()


def end_session():
    """End the guest (kill, not detach: a detached QEMU lingers). When QEMU
    is already gone, or goes while GDB's kill is on its way ("Remote
    communication error ... Broken pipe": QEMU exits as soon as it reads the
    kill, sometimes before GDB's last acknowledgement), that is the end too."""
    if not gdb.selected_inferior().pid:
        return
    try:
        gdb.execute("kill", to_string=True)
    except gdb.error:
        pass


def say(text=""):
    gdb.write(text + "\n")
    gdb.flush()


def own_start(image="", kernel="", syms="", build="build"):
    """What `make gdb IMAGE=/KERNEL= SYMS=` does after connecting, for an
    editor's launch configuration: check the files, load the symbols, and set
    the temporary breakpoint where the BIOS or the kernel gets control
    (bootlab.own.check says where, in one line first). A bad file is one
    error line (gdb.GdbError), as in make."""
    from .. import cli
    from ..own import check
    from ..qemu import cmdline
    try:
        stop = check.stop_address(image, kernel, syms)
    except check.Bad as e:
        raise gdb.GdbError("bootlab: %s" % e) from None
    for line in cmdline.symbol_commands(cli.symbol_files_for(image, kernel, syms, build)):
        gdb.execute(line)
    gdb.execute("thbreak *0x%x" % stop)
