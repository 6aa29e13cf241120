"""The GDB half of `make trace` (bootlab/trace/main.py starts it).

Runs in `gdb -batch` after debug/lab.gdb, the symbol files and a `target
remote` to a QEMU paused at the reset vector. From 0x7c00 it single-steps
the CPU with raw remote-protocol packets (rawstep.py) until an instruction
writes VGA text memory, and writes one JSON object per line for main.py:
  start  the milestone symbols' addresses
  insn   one instruction: where, CPU mode, bytes, disassembly, source line,
         control registers, CS or GDTR it changed, the mode after it
  bios   a BIOS call: registers before and after, instructions QEMU ran
  end    why the trace stopped (vga, bound, halt, error) and where
The mode after each step is the snapshot's (the core decides when the
monitor must be asked). Settings come from the environment (BOOTLAB_TRACE_*,
see main.py). A real-mode `int` runs at full speed to the next instruction
unless BIOS=1, and so does a `rep` string instruction.

BOOTLAB_TRACE_CPU=N (N > 0, an SMP kernel on N+1 CPUs or more) traces AP N
instead: the guest runs at full speed until that CPU stops at ap_start (the
APs before it pass there first, each stepped over the breakpoint), then
only that CPU is stepped (raw steps are `vCont;s:THREAD`; with scheduler-
locking on, a full-speed stretch runs it alone too), to its first VGA write
or to ap_park. The start record names the AP path's milestones then.
"""
import json
import os
import time

import gdb

from .. import project
from ..vga import SCREEN_BYTES, VGA_TEXT_ADDR, cell_at
from ..x86.controlregs import BIT_TABLES, bit_changes
from . import codeinfo, rawstep, snapshot, stepping, target
from .qemuside import ExecLog, ex, real_mode_bytes, shutdown_note
from .scripting import continue_for, end_session

LEG_TIMEOUT_S = 20                      # one BIOS call or rep at full speed
WATCHED = ("cr0", "cr3", "cr4", "efer", "cs")   # shown when an instruction changes them
BIOS_REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "eflags", "ds", "es")
# Memory a BIOS call reads at DS:SI (INT 13h's disk address packet) and
# writes at ES:DI (INT 15h E820's entry), kept so main.py can describe it.
PACKET_BYTES = 16
BUFFER_BYTES = 24


class Stop(Exception):
    """The trace ends here: reason is vga, bound, halt or error."""

    def __init__(self, reason, message, **extra):
        super().__init__(message)
        self.reason, self.extra = reason, extra


RECORDS_BUFFER = 1 << 16     # bytes


class Tracer:
    def __init__(self, out, show_bios, limit, exec_log, ends=None):
        self.out, self.show_bios, self.limit, self.exec_log = out, show_bios, limit, exec_log
        self.ends = ends or {}      # linear address -> symbol where the trace ends (ap_park)
        self.stepper = rawstep.Stepper()
        self.code = codeinfo.CodeCache()
        self.n = 0
        self.pending = []    # BIOS=1: calls stepped into, not yet returned
        # GDB only knows its own watchpoints; ours (a raw Z2) reports a write
        # during a raw step, this one a write while GDB runs the guest.
        self.vga_watch = gdb.Breakpoint("*(char(*)[%d])0x%x" % (SCREEN_BYTES, VGA_TEXT_ADDR),
                                         gdb.BP_WATCHPOINT, internal=True)
        target.packet("Z2,%x,%x" % (VGA_TEXT_ADDR, SCREEN_BYTES))
        # QEMU's stop reply names the watchpoint (watch:b8000, the start of
        # the range), not the byte written: the cell is found by comparing
        # the screen with this copy (nothing writes it before the trace ends).
        self.screen = self.read_screen()
        self.snap = snapshot.current()

    @property
    def empty_steps(self):
        return self.stepper.empty_steps

    def emit(self, **record):
        self.out.write(json.dumps(record) + "\n")

    @property
    def regs(self):
        return self.snap.regs

    def run(self):
        while True:
            if self.n >= self.limit:
                raise Stop("bound", "stopped after %d instructions (MAX=%d) before any "
                           "write to VGA memory" % (self.n, self.limit),
                           lin=self.snap.state.pc_linear)
            self.one()

    def one(self):
        st = self.snap.state
        m, lin = st.mode, st.pc_linear
        if lin in self.ends:
            raise Stop("park", "CPU %d reached %s before any write to VGA memory"
                       % (self.snap.cpu, self.ends[lin]), lin=lin)
        info = self.code.at(st)
        self.n += 1
        rec = dict(k="insn", n=self.n, lin=lin, cs=self.regs["cs"], ip=st.ip, mode=m.name,
                   bits=m.bits, paging=m.paging, t=time.monotonic(), **info.record())
        if self.pending:
            rec["in_bios"] = True
        before = self.snap
        reply = ""
        if info.kind == "int" and m.bits == 16 and not self.show_bios:
            self.emit(**rec)
            self.bios_call(lin + info.size, info.insn.cs.operands[0].imm)
            return
        if info.kind == "hlt":
            if info.symbol or not self.show_bios:
                self.emit(**rec)
                raise Stop("halt", "the CPU reached HLT at 0x%x %s before any write to "
                           "VGA memory" % (lin, info.symbol), lin=lin)
            self.full_speed(lin + info.size)    # the BIOS waits for an interrupt
        elif info.kind == "rep":
            self.full_speed(lin + info.size)
            width = (1 << (8 * info.addr_size)) - 1
            rec["iterations"] = ((before.regs["rcx"] & width) - (self.regs["rcx"] & width)) & width
        else:
            try:
                reply, regs = self.stepper.step(before.regs)
            except rawstep.TargetGone as e:
                rec["unfinished"] = True
                self.emit(**rec)
                raise Stop("error", shutdown_note() or str(e))
            self.snap = snapshot.after_raw_step(before, info.insn, regs)
        if info.kind == "int" and m.bits == 16:    # BIOS=1: stepped into the BIOS
            self.pending.append((lin + info.size, self.n, rec["t"], self.pick(before.regs),
                                 info.insn.cs.operands[0].imm, self.packet(before.regs)))
        self.annotate(rec, before, info)
        self.emit(**rec)
        if "watch:" in reply or self.vga_watch.hit_count:
            raise Stop("vga", "instruction %d wrote VGA memory" % self.n, lin=lin,
                       **self.cell(self.written()))
        self.bios_returned()

    def annotate(self, rec, before, info):
        """What the instruction changed that a learner should see."""
        old, new = before.regs, self.regs
        changed = {r: [old[r], new[r], bit_changes(old[r], new[r], BIT_TABLES.get(r, ()))]
                   for r in WATCHED if old[r] != new[r]}
        if changed:
            rec["changed"] = changed
        new_mode = self.snap.mode
        if new_mode != before.mode:
            rec["mode_after"] = [new_mode.name, new_mode.paging]
        if info.kind == "table":
            rec["tables"] = self.snap.monitor.tables

    def full_speed(self, resume_at):
        """Let GDB run the guest to the linear address resume_at."""
        self.stepper.finish()
        stop = gdb.Breakpoint("*0x%x" % resume_at, internal=True, temporary=True)
        try:
            _, timed_out = continue_for(LEG_TIMEOUT_S, to_string=True)
        except gdb.error as e:
            raise Stop("error", "the guest went away: %s" % e)
        finally:
            if stop.is_valid():
                stop.delete()
        snapshot.invalidate()
        self.snap = snapshot.current()
        lin = self.snap.state.pc_linear
        if timed_out:
            raise Stop("error", "the guest did not get to 0x%x within %d s (it is at 0x%x)"
                       % (resume_at, LEG_TIMEOUT_S, lin))
        if lin != resume_at and not self.vga_watch.hit_count:
            raise Stop("error", shutdown_note() or "expected the guest at 0x%x, it stopped "
                       "at 0x%x" % (resume_at, lin))

    def pick(self, regs):
        return {r: regs[r] for r in BIOS_REGS}

    def bios_call(self, resume_at, vector):
        regs = self.regs
        before, t0, mark = self.pick(regs), time.monotonic(), self.exec_log.mark()
        packet = self.packet(regs)
        self.full_speed(resume_at)
        executed = self.exec_log.lines_since(mark)
        self.emit(k="bios", vector=vector, before=before, after=self.pick(self.regs),
                  count=None if executed is None else executed - 1,   # less the `int`
                  seconds=time.monotonic() - t0, shown=False, ds_si=packet,
                  es_di=self.buffer(regs))
        if self.vga_watch.hit_count:
            raise Stop("vga", "the BIOS call wrote VGA memory", lin=self.snap.state.pc_linear)

    def bios_returned(self):
        """BIOS=1: the instruction after a stepped `int` closes the call."""
        if self.pending and self.snap.state.pc_linear == self.pending[-1][0]:
            _, start, t0, before, vector, packet = self.pending.pop()
            self.emit(k="bios", vector=vector, before=before, after=self.pick(self.regs),
                      count=self.n - start, seconds=time.monotonic() - t0, shown=True,
                      ds_si=packet, es_di=self.buffer(before))

    @staticmethod
    def packet(before):
        """What a call may read at DS:SI (INT 13h's disk address packet)."""
        return real_mode_bytes(before["ds"], before["rsi"], PACKET_BYTES)

    @staticmethod
    def buffer(before):
        """What a call may have written at ES:DI (an E820 entry, say)."""
        return real_mode_bytes(before["es"], before["rdi"], BUFFER_BYTES)

    @staticmethod
    def read_screen():
        ex("maint flush dcache")     # raw steps never tell GDB the guest ran
        try:
            return bytes(gdb.selected_inferior().read_memory(VGA_TEXT_ADDR, SCREEN_BYTES))
        except gdb.MemoryError:
            return None

    def written(self):
        """The address of the first cell that differs from the copy made at
        the start, or None (none read, or the write left the same value)."""
        now = self.read_screen()
        if self.screen is None or now is None:
            return None
        diff = next((i for i, (a, b) in enumerate(zip(self.screen, now)) if a != b), None)
        return None if diff is None else VGA_TEXT_ADDR + (diff & ~1)

    @staticmethod
    def cell(address):
        """The VGA text cell a write hit, as row and column."""
        if address is None:
            return {}
        row, column = cell_at(address)
        return dict(written=address, row=row, column=column)


class NoExecLog:
    """An AP calls no BIOS: nothing to count, and no exec log to slow it."""

    def mark(self):
        return None

    def lines_since(self, mark):
        return None


def to_boot_sector():
    first = gdb.Breakpoint("*0x7c00", internal=True, temporary=True)
    _, timed_out = continue_for(LEG_TIMEOUT_S, to_string=True)
    if timed_out or first.is_valid():
        raise Stop("error", "the BIOS did not jump to 0x7c00 within %d s (no boot "
                   "sector? `make run` shows the BIOS's screen)" % LEG_TIMEOUT_S)


def to_ap_start(cpu):
    """Run until AP cpu stops at its first instruction; GDB's selected
    thread is that CPU's then. The APs start one after the other, so CPUs
    1 .. cpu-1 stop there first: each is stepped past it."""
    symbols = codeinfo.addresses(project.AP_NAMES + [project.END])
    start = symbols.get(project.AP_NAMES[0])
    if start is None:
        raise Stop("error", "the kernel has no %s: it was built without SMP="
                   % project.AP_NAMES[0])
    bp = gdb.Breakpoint("*0x%x" % start, internal=True)
    end = gdb.Breakpoint("*0x%x" % symbols[project.END], internal=True)
    try:
        for _ in range(cpu):
            _, timed_out = continue_for(LEG_TIMEOUT_S, to_string=True)
            snapshot.invalidate()
            if end.hit_count:
                raise Stop("error", "the kernel reached %s before CPU %d ran %s: the BSP "
                           "gave up on it (make run-headless with the same SMP= says why)"
                           % (project.END, cpu, project.AP_NAMES[0]))
            here, lin = target.thread_cpu(), snapshot.current().state.pc_linear
            if timed_out or lin != start:
                raise Stop("error", shutdown_note() or "CPU %d did not reach %s within %d s "
                           "(CPU %d stopped at 0x%x)" % (cpu, project.AP_NAMES[0],
                                                         LEG_TIMEOUT_S, here, lin))
            if here == cpu:
                return
            bp.enabled = False          # an earlier AP: on past the breakpoint
            ex("stepi")
            bp.enabled = True
        raise Stop("error", "CPU %d never stopped at %s" % (cpu, project.AP_NAMES[0]))
    finally:
        bp.delete()
        end.delete()


def main():
    env = os.environ
    cpu = int(env.get("BOOTLAB_TRACE_CPU", "0"))
    # Block-buffered: a write per line would cost a system call per step.
    # The file is closed, so complete, however the trace ends here; a GDB
    # killed for time leaves no trace at all (make trace says so).
    with open(env["BOOTLAB_TRACE_RECORDS"], "w", buffering=RECORDS_BUFFER) as out:
        tracer = None
        try:
            stepping.quiet[0] += 1    # no mode messages or context display at our stops
            ex("set disassembly-flavor intel")
            if cpu:
                to_ap_start(cpu)
                ex("set scheduler-locking on")    # the other CPUs wait, always
                names = project.AP_NAMES
                ends = {a: n for n, a in codeinfo.addresses([project.AP_PARK]).items()}
                log = NoExecLog()
            else:
                to_boot_sector()
                names, ends = project.NAMES, {}
                log = None
            out.write(json.dumps(dict(k="start", t=time.monotonic(), cpu=cpu, names=names,
                                      symbols=codeinfo.addresses(names))) + "\n")
            log = log or ExecLog(env["BOOTLAB_TRACE_EXECLOG"])
            tracer = Tracer(out, env.get("BOOTLAB_TRACE_BIOS") == "1",
                            int(env.get("BOOTLAB_TRACE_MAX", "100000")), log, ends)
            tracer.run()
        except Stop as e:
            out.write(json.dumps(dict(k="end", reason=e.reason, message=str(e),
                                      t=time.monotonic(), empty_steps=tracer and tracer.empty_steps,
                                      **e.extra)) + "\n")
        except (gdb.error, gdb.GdbError) as e:
            out.write(json.dumps(dict(k="end", reason="error", message=str(e),
                                      t=time.monotonic())) + "\n")
    end_session()
