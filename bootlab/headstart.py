"""make debug's head start: QEMU runs the BIOS to the first stop while GDB
is still loading.

GDB needs ~0.1 s to start with the extension and the symbols; SeaBIOS needs
about as long to reach 0x7c00. Done one after the other (GDB loads, then
says continue), the user waits for both. So the launcher connects to QEMU's
gdbstub first, plants a hardware breakpoint at the stop address (Z1: QEMU
matches it on the linear address, CS.base + IP, in any mode), continues,
and on the stop removes the breakpoint and closes the connection without
detaching (a `D` would resume the guest): QEMU stays stopped there. GDB,
whose connection waited in the listening socket's queue meanwhile, finds
the CPU at the stop address; `bootlab-start` (gdbext/start.py) sees that
and does not continue. If the guest has not got there within HEAD_START_S,
(or BOOTLAB_HEAD_START_S), the launcher stops it wherever it is and GDB goes on as it would have
without a head start: `thbreak` and `continue`.
"""
import os
import threading

from . import gdbstub

HEAD_START_S = 5.0      # the BIOS takes ~0.1 s; GDB's remotetimeout is raised above this
REPLY_S = 2.0           # every other packet


def limit():
    """Seconds of head start: HEAD_START_S, or BOOTLAB_HEAD_START_S (0: none,
    GDB runs the BIOS itself as with make gdb; the tests check both ways)."""
    text = os.environ.get("BOOTLAB_HEAD_START_S", "")
    try:
        value = float(text) if text else HEAD_START_S
    except ValueError:
        value = HEAD_START_S
    return min(max(value, 0.0), HEAD_START_S)


class HeadStart(threading.Thread):
    def __init__(self, port, address, seconds=HEAD_START_S):
        super().__init__(name="bootlab-head-start", daemon=True)
        self.port, self.address, self.seconds = port, address, seconds

    def run(self):
        try:
            c = gdbstub.Client(self.port, timeout=REPLY_S)
        except OSError:
            return
        try:
            c.request(b"qSupported")
            c.request(b"?")
            bp = b"%x,1" % self.address
            if c.request(b"Z1," + bp) != b"OK":
                return
            try:
                c.request(b"c", timeout=self.seconds)
            except TimeoutError:
                c.interrupt()
            c.request(b"z1," + bp)
        except (OSError, TimeoutError, ConnectionError):
            pass
        finally:
            c.close()

    def finish(self):
        """Wait for the head start to end (it always does, within its bounds)."""
        self.join(HEAD_START_S + 4 * REPLY_S)
