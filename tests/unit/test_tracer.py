"""make trace's stepping logic (bootlab.trace.tracer) against a scripted
target: a CPU in the state recorded at modes-lm64 (64-bit code, QEMU's own
`info registers` of that stop), running four instructions written here.
The live trace is checked against GDB in tests/test_trace.py; this pins the
order of the work: each record gets what its own instruction changed, even
though a record is finished while the next instruction runs."""
import json
from pathlib import Path

from bootlab.trace import tracer
from bootlab.vga import VGA_TEXT_ADDR

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "modes-lm64.json"
START = 0x7fca
# address: (bytes, what executing it does to the registers)
PROGRAM = {
    START: ("90", lambda r: None),                                   # nop
    START + 1: ("48ffc0", lambda r: r.update(rax=r["rax"] + 1)),     # inc rax
    START + 4: ("0f22d8", lambda r: r.update(cr3=r["rax"])),         # mov cr3, rax
    START + 7: ("8818", None),                                       # mov [rax], bl
}
CELL = VGA_TEXT_ADDR + 2 * (80 * 1 + 2)         # row 1, column 2


class ScriptedTarget:
    """Just enough of bootlab.remote.Remote: one CPU, the program above;
    its first step of `inc rax` executes nothing (as QEMU 7.2 now and then
    answers a step)."""

    def __init__(self):
        fx = json.loads(FIXTURE.read_text())
        self.regs = dict(fx["regs"], rip=START, rbx=0x41)     # bl: an "A"
        self.view = fx["monitor"]
        self.screen = bytearray(4000)
        self.monitor_reads = 0
        self.empty_once = True
        self.sent = None

    def step_packet(self, cpu):
        return b"vCont;s:%x" % (cpu + 1)

    def start_step(self, packet):
        assert self.sent is None, "a packet went out while a step ran"
        self.sent = packet

    def stop_reply(self):
        assert self.sent, "no step was sent"
        self.sent = None
        code, effect = PROGRAM[self.regs["rip"]]
        if self.regs["rip"] == START + 1 and self.empty_once:
            self.empty_once = False
            return b"T05thread:01;"
        self.regs["rip"] += len(code) // 2
        if effect is None:                  # the write to the screen
            self.screen[CELL - VGA_TEXT_ADDR] = self.regs["rbx"] & 0xff
            return b"T05watch:b8000;thread:01;"
        effect(self.regs)
        return b"T05thread:01;"

    def registers(self, names):
        assert self.sent is None
        return {n: self.regs[n] for n in names}

    def read(self, address, count):
        if address == VGA_TEXT_ADDR:
            return bytes(self.screen[:count])
        code = bytes.fromhex(PROGRAM[address][0])
        return (code + b"\x90" * count)[:count]

    def monitor(self, command):
        if command == "info registers":
            self.monitor_reads += 1
            return self.view
        return ""

    def insert(self, *a):
        pass

    def remove(self, *a):
        pass

    def select(self, cpu):
        pass


def run(limit=100):
    target = ScriptedTarget()
    t = tracer.Tracer(target, 0, False, limit, tracer.NoExecLog(), deadline=float("inf"))
    try:
        t.run()
    except tracer.Stop as e:
        return target, t, e
    raise AssertionError("the trace did not stop")


def test_each_record_shows_what_its_own_instruction_did():
    target, t, stop = run()
    insns = [r for r in t.records if r["k"] == "insn"]
    assert [(r["n"], r["asm"]) for r in insns] == [
        (1, "nop"), (2, "inc    rax"), (3, "mov    cr3,rax"), (4, "mov    byte ptr [rax],bl")]
    assert [r["mode"] for r in insns] == ["64-bit"] * 4
    assert "changed" not in insns[0] and "changed" not in insns[1]
    old_cr3 = json.loads(FIXTURE.read_text())["regs"]["cr3"]
    assert insns[2]["changed"]["cr3"][:2] == [old_cr3, 0x80000012]
    assert t.empty_steps == 1


def test_the_monitor_is_asked_again_only_after_the_control_register_write():
    target, _, _ = run()
    assert target.monitor_reads == 2        # at the start, and after mov cr3


def test_the_write_names_its_cell():
    _, _, stop = run()
    assert stop.reason == "vga"
    assert stop.extra == {"lin": START + 7, "written": CELL, "row": 1, "column": 2}


def test_the_bound_stops_before_the_next_instruction():
    _, t, stop = run(limit=2)
    assert stop.reason == "bound" and "MAX=2" in str(stop)
    assert [r["n"] for r in t.records] == [1, 2]
