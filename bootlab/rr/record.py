"""Record one boot of a disk image for `make debug-rr`.

    python3 -m bootlab.rr.record IMAGE RRDIR [--seconds S]

QEMU runs the image under record/replay (rrargs.py) until the guest is done,
and RRDIR then holds everything a replay needs: the log of every
non-deterministic event (replay.bin), the disk with the start snapshot, and
recording.json (how the run ended, its last instruction count).

"Done" is one of:
  halted     the instruction count stopped moving: the CPU sits in HLT with
             interrupts off (the kernel's end, a panic, boot_halt);
  shutdown   the guest reset or triple-faulted (-no-reboot -no-shutdown in
             configs/qemu.args keep QEMU there, paused);
  timeout    after S seconds, still running (a hang with interrupts on):
             the recording simply ends there.
QEMU is asked through QMP (JSON on its stdin/stdout) and told to quit, so the
log is closed properly; it is killed if it does not go.
"""
import argparse
import hashlib
import json
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..proc import die_with_parent
from . import rrargs

POLL = 0.1            # seconds between two looks at the instruction count
STILL_POLLS = 4       # that many looks without progress: the CPU halted
QMP_TIMEOUT = 10      # seconds QEMU may take to answer one QMP command


class RecordError(Exception):
    pass


class Qmp:
    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise RecordError("QEMU did not answer QMP within %d s" % QMP_TIMEOUT)
            data = self.proc.stdout.read1(65536)
            if not data:
                raise RecordError("QEMU exited during the recording")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + QMP_TIMEOUT
        while True:
            reply = self._line(deadline)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RecordError("QMP %s: %s" % (command, reply["error"].get("desc")))
            # anything else is an event (STOP, SHUTDOWN, ...): the status
            # query says the same


def record(image, rrdir, seconds, shape=None):
    image = Path(image)
    if not image.is_file():
        raise RecordError("no image at %s" % image)
    if rrdir.exists():
        shutil.rmtree(rrdir)
    rrdir.mkdir(parents=True)
    # A self-contained qcow2 copy: the recording must not depend on the
    # image staying as it is.
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2",
                    str(image), str(rrdir / rrargs.DISK)], check=True, timeout=60)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2",
                    str(rrdir / rrargs.SNAPSHOTS), "1M"], check=True, timeout=60)
    cmd = rrargs.qemu_command("record", rrdir / rrargs.LOG, rrdir,
                              rrdir / "debugcon.log", shape=shape) + ["-qmp", "stdio"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    try:
        qmp = Qmp(proc)
        qmp._line(time.monotonic() + QMP_TIMEOUT)          # the greeting
        qmp.call("qmp_capabilities")
        ended, last, still = "timeout", -1, 0
        while time.monotonic() - started < seconds:
            status = qmp.call("query-status")["status"]
            count = qmp.call("query-replay")["icount"]
            if status in ("shutdown", "guest-panicked", "internal-error"):
                ended = "shutdown" if status == "shutdown" else status
                break
            still = still + 1 if count == last else 0
            if still >= STILL_POLLS:
                ended = "halted"
                break
            last = count
            time.sleep(POLL)
        end_icount = qmp.call("query-replay")["icount"]
        qmp.call("quit")
        proc.wait(timeout=QMP_TIMEOUT)
    except (RecordError, subprocess.TimeoutExpired, OSError) as e:
        proc.kill()
        proc.wait()
        raise RecordError(str(e))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    meta = {
        "image": str(image),
        "image_sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
        "end_icount": end_icount,
        "ended": ended,
        "seconds": round(time.monotonic() - started, 2),
        # The replay must build the same machine (replay.py reads it back).
        "machine": shape or {},
    }
    (rrdir / rrargs.META).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def is_current(image, rrdir, shape=None):
    """True when rrdir holds a recording of exactly this image, on the same
    machine (CPU=, MEM=, SMP=, QEMU_ARGS=)."""
    try:
        meta = json.loads((rrdir / rrargs.META).read_text())
        return (meta["image_sha256"] == hashlib.sha256(Path(image).read_bytes()).hexdigest()
                and meta.get("machine", {}) == (shape or {}))
    except (OSError, ValueError, KeyError):
        return False


WHY = {
    "halted": "the CPU halted with interrupts off",
    "shutdown": "the guest reset or triple-faulted",
    "timeout": "time limit; the guest was still running",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("rrdir", type=Path)
    ap.add_argument("--seconds", type=float, default=10,
                    help="stop recording a guest still running after this long")
    ap.add_argument("--if-stale", action="store_true",
                    help="keep an existing recording of this very image")
    args = ap.parse_args()
    if args.if_stale and is_current(args.image, args.rrdir):
        return
    try:
        meta = record(args.image, args.rrdir, args.seconds)
    except (RecordError, subprocess.SubprocessError) as e:
        sys.exit("bootlab: recording failed: %s" % e)
    print("bootlab: recorded %s: %d instructions in %.1f s, ended: %s -> %s"
          % (args.image, meta["end_icount"], meta["seconds"],
             WHY.get(meta["ended"], meta["ended"]), args.rrdir))


if __name__ == "__main__":
    from .. import proc
    proc.entry_point(main, "bootlab")
