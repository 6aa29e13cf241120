"""The QEMU command line of a recording and of its replays.

Record and replay must build the same machine, so both come from here. The
machine is the lab's (bootlab.qemu.cmdline), with what QEMU's record/replay
needs on top (QEMU manual, "Record/replay"):
  -icount shift=7,rr=...   a deterministic instruction counter. shift=7 (one
                           instruction = 128 ns of guest time): with
                           shift=auto, reverse execution hung more often here.
  rrsnapshot=init          a snapshot at the start of the recording; every
                           reverse step reloads it and replays forward.
  disk.qcow2 + blkreplay   the boot disk as a writable qcow2 behind the
                           blkreplay filter, which logs disk completions.
                           (snapshot=on or a read-only raw disk fail.)
  snapshots.qcow2          an empty qcow2 with room for the VM snapshot.
  -nic none                no network card: its traffic would need logging too.
No isa-debug-exit: a recording must end with QEMU still there (record.py
ends it), because a replay that reaches the guest's exit ends with it.
"""
from pathlib import Path

from ..qemu import cmdline

DISK = "disk.qcow2"
SNAPSHOTS = "snapshots.qcow2"
LOG = "replay.bin"
META = "recording.json"
SNAPSHOT_NAME = "init"
ICOUNT_SHIFT = 7


def qemu_command(mode, logfile, diskdir, debugcon, extra=(), shape=None):
    """mode: "record" or "replay"; diskdir holds DISK and SNAPSHOTS; shape:
    the machine's CPU model, memory, CPU count and extra options
    (bootlab.cli.machine_options), the same for a recording and its replays:
    the recording's metadata keeps them (record.py)."""
    rr = ["-icount", "shift=%d,rr=%s,rrfile=%s,rrsnapshot=%s"
          % (ICOUNT_SHIFT, mode, logfile, SNAPSHOT_NAME),
          "-drive", "file=%s,if=none,id=disk-direct" % (Path(diskdir) / DISK),
          "-drive", "driver=blkreplay,if=none,image=disk-direct,id=disk-replay",
          "-device", "ide-hd,drive=disk-replay",
          "-drive", "file=%s,if=none,id=rr-snapshots" % (Path(diskdir) / SNAPSHOTS),
          "-nic", "none"]
    return cmdline.qemu(cmdline.Machine(**(shape or {})), debugcon=debugcon,
                        extra=rr + list(extra))
