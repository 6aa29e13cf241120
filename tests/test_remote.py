"""bootlab.remote, the gdbstub client make trace steps with (no GDB in
between), against GDB on the same QEMU: the same registers and memory at a
stop; a run that does not stop in time comes back interrupted; a step the
machine never finishes (a triple fault) ends within its bound, and the
monitor says why."""
import json
import re
import time

import pytest

from bootlab import remote, session
from bootlab.qemu import cmdline
from bootlab.trace import tracer
from conftest import make, ROOT

REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "eflags", "cs", "ss",
        "ds", "es", "fs", "gs", "cr0", "cr3", "cr4", "efer")
GDB_READ = r'''python
import json
regs = {r: int(gdb.parse_and_eval("$" + r)) & ((1 << 64) - 1) for r in %r}
code = bytes(gdb.selected_inferior().read_memory(0x7c00, 512)).hex()
print("GDB " + json.dumps(dict(regs=regs, code=code)))
end''' % (REGS,)


def qemu(image, tmp_path):
    machine = cmdline.Machine(disk=image)
    return session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log")


def test_registers_and_memory_are_what_gdb_reads(image, tmp_path):
    with qemu(image, tmp_path) as q:
        target = remote.Remote(q.port)
        reply = tracer.run_to(target, 0x7c00)
        assert target.stop_cpu(reply) == 0
        target.select(0)
        ours = target.registers(REGS)
        code = target.read(0x7c00, 512)
        # Closed without detaching (a `D` would resume): QEMU stays where it is.
        target.close()
        gdb = session.batch_gdb(q, cmdline.gdb(batch=True, setup=False, commands=[
            q.target, GDB_READ, "kill"]), 30)
    line = [l for l in gdb.output.splitlines() if l.startswith("GDB ")]
    assert line, gdb.output[-2000:]
    theirs = json.loads(line[0][4:])
    assert ours["rip"] == 0x7c00 and ours == theirs["regs"]
    assert code.hex() == theirs["code"] and code[510:] == b"\x55\xaa"


def test_a_run_that_does_not_stop_comes_back_interrupted(image, tmp_path):
    """The kernel ends in cli; hlt: nothing stops it. resume() interrupts
    it after its bound, and the link goes on working."""
    with qemu(image, tmp_path) as q:
        target = remote.Remote(q.port)
        t0 = time.monotonic()
        assert target.resume(1.0) is None
        assert 1.0 <= time.monotonic() - t0 < 1.0 + remote.INTERRUPT_S + 1
        assert "paused" in target.monitor("info status")
        assert target.read(0xb8000, 2) is not None
        assert target.read(1 << 62, 16) is None          # nothing mapped there
        target.close()


def test_a_step_the_machine_never_finishes_ends_the_trace_in_one_line(variant, tmp_path):
    """BUG=gdt-limit: the far jump into protected mode triple-faults; QEMU
    (-no-shutdown) pauses the machine without answering the step. The trace
    says why within the step's bounds, the listing ends at that jump."""
    build = variant(BUG="gdt-limit")
    t0 = time.monotonic()
    proc = make(f"B={build}", "BUG=gdt-limit", "trace", check=False, timeout=60)
    seconds = time.monotonic() - t0
    assert proc.returncode != 0
    # make's own "make: *** ..." line (make[1]: when run under make check) aside.
    errors = [l for l in proc.stderr.splitlines()
              if l.strip() and not re.match(r"make(\[\d+\])?: ", l)]
    assert errors == ["trace: the machine shut down (QEMU: paused (shutdown)): the CPU asked "
                      "for a reset, as a triple fault does; lab/qemu-log.sh shows the exceptions;"
                      " the listing so far is in %s/trace.txt" % build], proc.stderr
    listing = (build / "trace.txt").read_text()
    assert "ljmp   8:0x9000" in listing.split("! the CPU did not finish this instruction")[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert seconds < 15
