"""The stepping half of `make trace`: plain Python over QEMU's gdbstub
(bootlab.remote), no GDB in between.

From 0x7c00 it single-steps the CPU until an instruction writes VGA text
memory, and makes one record (a dict) per event for main.py:
  start  the milestone symbols' addresses
  insn   one instruction: where, CPU mode, bytes, disassembly, control
         registers, CS or GDTR it changed, the mode after it
  bios   a BIOS call: registers before and after, instructions QEMU ran
  end    why the trace stopped (vga, bound, halt, park, error) and where
Symbols and source lines are added afterwards, by GDB (symbols.py).

The mode after each step is the core's (bootlab.x86.cpu): QEMU's monitor is
asked for the hidden CS cache only when the instruction that ran could have
changed it. A real-mode `int` runs at full speed to the next instruction
unless BIOS=1, and so does a `rep` string instruction. A write watchpoint
(Z2) over the VGA text buffer reports the write, in a step as in a run.

Each step is written to the socket before the previous instruction's record
is finished: QEMU runs the step on one core while this process annotates on
the other, so a trace costs little more than the link's own `s` + `g`.

cpu=N (N > 0, an SMP kernel on N+1 CPUs or more) traces AP N instead: the
guest runs at full speed until that CPU stops at ap_start (the APs before it
pass there first, each stepped over the breakpoint), then only that CPU runs
(`vCont;s:THREAD`, `vCont;c:THREAD`), to its first VGA write or to ap_park.
"""
import time

from .. import project, remote
from ..qemu import monitor as qemu_monitor
from ..qemu.execlog import ExecLog, NoExecLog
from ..vga import SCREEN_BYTES, VGA_TEXT_ADDR, cell_at
from ..x86 import cpu as x86cpu
from ..x86 import decode
from ..x86.addressing import real_linear
from ..x86.controlregs import BIT_TABLES, bit_changes

LEG_TIMEOUT_S = 20                      # one BIOS call or rep at full speed
WATCHED = ("cr0", "cr3", "cr4", "efer", "cs")   # shown when an instruction changes them
BIOS_REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "eflags", "ds", "es")
# Every register a step's record and the core's rules read (one `g` reply).
REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "eflags", "cs", "ss",
        "ds", "es", "fs", "gs", "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "efer")
# Memory a BIOS call reads at DS:SI (INT 13h's disk address packet) and
# writes at ES:DI (INT 15h E820's entry), kept so main.py can describe it.
PACKET_BYTES = 16
BUFFER_BYTES = 24


class Stop(Exception):
    """The trace ends here: reason is vga, bound, halt, park or error."""

    def __init__(self, reason, message, **extra):
        super().__init__(message)
        self.reason, self.extra = reason, extra


class Machine:
    """One CPU of the guest as the trace sees it: its CpuState after each
    step, with the monitor's view (segment caches, GDTR, IDTR) carried over
    when the core says the instruction could not change it."""

    def __init__(self, target, cpu):
        self.target, self.cpu = target, cpu
        self.monitor_cpu = None
        self.view = None            # qemu.monitor.Registers of the last reading

    def read_view(self):
        if self.monitor_cpu != self.cpu:
            self.target.monitor("cpu %d" % self.cpu)     # the monitor describes one CPU
            self.monitor_cpu = self.cpu
        try:
            self.view = qemu_monitor.parse(self.target.monitor("info registers"))
        except qemu_monitor.MonitorError as e:
            raise Stop("error", str(e))
        return self.view

    def fresh(self):
        """The state read anew: registers and the monitor's view."""
        self.target.select(self.cpu)
        regs = self.target.registers(REGS)
        view = self.read_view()
        return x86cpu.CpuState(regs, view.segs, view.tables)

    def after_step(self, before, insn, regs):
        if x86cpu.monitor_view_may_change(before.regs, insn, regs):
            view = self.read_view()
            return x86cpu.CpuState(regs, view.segs, view.tables)
        return x86cpu.CpuState(regs, before.segs, before.tables)


class Code:
    """The decoded instruction per (linear address, code size, CS base,
    selector): code does not change under us once it runs (the BIOS loaded
    it before the first instruction there)."""

    def __init__(self, target):
        self.target, self.cache = target, {}

    def at(self, state):
        m = state.mode
        key = (state.pc_linear, m.bits, state.cs.base, state.cs.selector)
        insn = self.cache.get(key)
        if insn is None:
            lin = state.pc_linear
            data = decode.read_code(self._read, lin)
            insns = decode.decode(data, lin, m.bits, state.cs.selector, state.cs.base,
                                  syntax="intel")
            if not insns:
                raise Stop("error", "cannot decode the instruction at 0x%x (%s)"
                           % (lin, data.hex()), lin=lin)
            insn = self.cache[key] = Listed(insns[0])
        return insn

    def _read(self, address, count):
        data = self.target.read(address, count)
        if data is None:
            raise Stop("error", "cannot read the code at 0x%x" % address, lin=address)
        return data


class Listed:
    """A decoded instruction (decode.Insn) and what its record shows of it,
    made once."""

    def __init__(self, insn):
        self.insn, self.size, self.kind = insn, insn.size, insn.kind
        self.addr_size = insn.cs.addr_size
        self.fields = dict(size=insn.size, hex=insn.bytes.hex(), asm=insn.text(lambda a: ""),
                           kind=insn.kind)


class Tracer:
    def __init__(self, target, cpu, show_bios, limit, exec_log, deadline, ends=None,
                 locked=False):
        self.target, self.show_bios, self.limit = target, show_bios, limit
        self.exec_log, self.deadline = exec_log, deadline
        self.ends = ends or {}      # linear address -> symbol where the trace ends (ap_park)
        self.machine = Machine(target, cpu)
        self.cpu = cpu
        self.run_cpu = cpu if locked else None     # full-speed stretches: that CPU alone?
        self.code = Code(target)
        self.records = []
        self.n = 0
        self.empty_steps = 0
        self.pending = []       # BIOS=1: calls stepped into, not yet returned
        self.later = None       # the last stepped instruction, annotated while the next runs
        self.step_packet = target.step_packet(cpu)
        target.insert(remote.WRITE_WATCH, VGA_TEXT_ADDR, SCREEN_BYTES)
        self.state = self.machine.fresh()
        # QEMU's stop reply names the watchpoint (watch:b8000, the start of
        # the range), not the byte written: the cell is found by comparing
        # the screen with this copy (nothing writes it before the trace ends).
        self.screen = target.read(VGA_TEXT_ADDR, SCREEN_BYTES)

    def run(self):
        try:
            while True:
                if self.n >= self.limit:
                    raise Stop("bound", "stopped after %d instructions (MAX=%d) before any "
                               "write to VGA memory" % (self.n, self.limit),
                               lin=self.state.pc_linear)
                self.one()
        finally:
            self.finish_later()

    def one(self):
        st = self.state
        m, lin = st.mode, st.pc_linear
        if lin in self.ends:
            raise Stop("park", "CPU %d reached %s before any write to VGA memory"
                       % (self.cpu, self.ends[lin]), lin=lin)
        info = self.code.at(st)
        t = time.monotonic()
        if t > self.deadline:
            raise Stop("error", "out of time (TRACE_TIMEOUT=) after %d instructions" % self.n,
                       lin=lin)
        bios = info.kind == "int" and m.bits == 16 and not self.show_bios
        plain = not bios and info.kind not in ("hlt", "rep")
        if plain:
            # The step goes out first; the record is made while QEMU runs it.
            self.target.start_step(self.step_packet)
        self.n += 1
        rec = dict(k="insn", n=self.n, lin=lin, cs=st.regs["cs"], ip=st.ip, mode=m.name,
                   bits=m.bits, paging=m.paging, t=t, **info.fields)
        if self.pending:
            rec["in_bios"] = True
        self.finish_later()         # the last instruction's record, while this one runs
        if plain:
            reply = self.finish_step(rec, st, info)
        else:
            reply = self.full_speed_insn(rec, st, info)
            if reply is None:
                return
        if info.kind == "int" and m.bits == 16:    # BIOS=1: stepped into the BIOS
            self.pending.append((lin + info.size, self.n, t, self.pick(st.regs),
                                 info.insn.cs.operands[0].imm, self.packet(st.regs)))
        self.later = (rec, st, info)
        if b"watch:" in reply:
            self.finish_later()
            raise Stop("vga", "instruction %d wrote VGA memory" % self.n, lin=lin,
                       **self.cell(self.written()))
        self.bios_returned()

    def finish_step(self, rec, before, info):
        """The stop reply of the step start_step sent, and the state after it.
        QEMU 7.2 sometimes answers a step without executing anything under
        load (same registers): step again then, remote.STEP_TRIES times at most (a
        `jmp $` really stays where it is)."""
        for attempt in range(remote.STEP_TRIES):
            if attempt:
                self.empty_steps += 1
                self.target.start_step(self.step_packet)
            try:
                reply = self.target.stop_reply()
                regs = self.target.registers(REGS)
            except remote.TargetGone as e:
                rec["unfinished"] = True
                self.records.append(rec)
                if isinstance(e, remote.ConnectionLost):
                    raise Stop("error", str(e), lost=True)
                raise Stop("error", self.shutdown_note() or str(e))
            if regs != before.regs or b"watch:" in reply:
                break
        self.state = self.machine.after_step(before, info.insn, regs)
        return reply

    def full_speed_insn(self, rec, st, info):
        """An `int` (without BIOS=1), `hlt` or `rep`: run to the next
        instruction at full speed. The stop reply, or None when the record is
        complete already (a BIOS call has its own record after it)."""
        lin, m = st.pc_linear, st.mode
        if info.kind == "int" and m.bits == 16 and not self.show_bios:
            self.records.append(rec)
            self.bios_call(lin + info.size, info.insn.cs.operands[0].imm)
            return None
        if info.kind == "hlt":
            if not self.pending:
                self.records.append(rec)
                raise Stop("halt", "the CPU reached HLT at 0x%x before any write to VGA "
                           "memory" % lin, lin=lin)
            return self.full_speed(lin + info.size)    # the BIOS waits for an interrupt
        reply = self.full_speed(lin + info.size)       # rep: every iteration at once
        width = (1 << (8 * info.addr_size)) - 1
        rec["iterations"] = ((st.regs["rcx"] & width) - (self.state.regs["rcx"] & width)) & width
        return reply

    def finish_later(self):
        """Annotate the last stepped instruction and keep its record."""
        if self.later is None:
            return
        rec, before, info = self.later
        self.later = None
        old, new = before.regs, self.state      # the state after it: nothing ran since
        changed = {r: [old[r], new.regs[r], bit_changes(old[r], new.regs[r], BIT_TABLES.get(r, ()))]
                   for r in WATCHED if old[r] != new.regs[r]}
        if changed:
            rec["changed"] = changed
        if new.mode != before.mode:
            rec["mode_after"] = [new.mode.name, new.mode.paging]
        if info.kind == "table":
            rec["tables"] = new.tables
        self.records.append(rec)

    def full_speed(self, resume_at):
        """Run the guest to the linear address resume_at; its stop reply."""
        reply = run_to(self.target, resume_at, self.run_cpu)
        if reply is not None and reply[:1] in (b"W", b"X"):
            raise Stop("error", "the guest went away (%s)" % reply.decode("latin-1"))
        self.state = self.machine.fresh()
        lin = self.state.pc_linear
        if reply is None:
            raise Stop("error", "the guest did not get to 0x%x within %d s (it is at 0x%x)"
                       % (resume_at, LEG_TIMEOUT_S, lin))
        if lin != resume_at and b"watch:" not in reply:
            raise Stop("error", self.shutdown_note() or "expected the guest at 0x%x, it "
                       "stopped at 0x%x" % (resume_at, lin))
        return reply

    def shutdown_note(self):
        try:
            return qemu_monitor.shutdown_note(self.target.monitor("info status"))
        except remote.RemoteError:
            return None

    @staticmethod
    def pick(regs):
        return {r: regs[r] for r in BIOS_REGS}

    def bios_call(self, resume_at, vector):
        regs = self.state.regs
        before, t0, mark = self.pick(regs), time.monotonic(), self.exec_log.mark()
        packet = self.packet(regs)
        reply = self.full_speed(resume_at)
        executed = self.exec_log.lines_since(mark)
        self.records.append(dict(
            k="bios", vector=vector, before=before, after=self.pick(self.state.regs),
            count=None if executed is None else executed - 1,   # less the `int`
            seconds=time.monotonic() - t0, shown=False, ds_si=packet, es_di=self.buffer(regs)))
        if b"watch:" in reply:
            raise Stop("vga", "the BIOS call wrote VGA memory", lin=self.state.pc_linear)

    def bios_returned(self):
        """BIOS=1: the instruction after a stepped `int` closes the call."""
        if self.pending and self.state.pc_linear == self.pending[-1][0]:
            self.finish_later()
            _, start, t0, before, vector, packet = self.pending.pop()
            self.records.append(dict(
                k="bios", vector=vector, before=before, after=self.pick(self.state.regs),
                count=self.n - start, seconds=time.monotonic() - t0, shown=True,
                ds_si=packet, es_di=self.buffer(before)))

    def real_mode_bytes(self, seg, off, count):
        data = self.target.read(real_linear(seg, off), count)
        return None if data is None else data.hex()

    def packet(self, before):
        """What a call may read at DS:SI (INT 13h's disk address packet)."""
        return self.real_mode_bytes(before["ds"], before["rsi"], PACKET_BYTES)

    def buffer(self, before):
        """What a call may have written at ES:DI (an E820 entry, say)."""
        return self.real_mode_bytes(before["es"], before["rdi"], BUFFER_BYTES)

    def written(self):
        """The address of the first cell that differs from the copy made at
        the start, or None (none read, or the write left the same value)."""
        now = self.target.read(VGA_TEXT_ADDR, SCREEN_BYTES)
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


def run_to(target, address, cpu=None):
    """Run (every CPU, or only `cpu`) to a breakpoint at linear `address`,
    for LEG_TIMEOUT_S at most; the stop reply, or None when it timed out."""
    target.insert(remote.BREAK, address)
    try:
        return target.resume(LEG_TIMEOUT_S, cpu)
    finally:
        target.remove(remote.BREAK, address)


def to_boot_sector(target):
    boot = project.const("BOOT_SECTOR_ADDR")
    reply = run_to(target, boot)
    if reply is None:
        raise Stop("error", "the BIOS did not jump to 0x%x within %d s" % (boot, LEG_TIMEOUT_S))
    here = Machine(target, remote.Remote.stop_cpu(reply) or 0).fresh().pc_linear
    if here != boot:
        raise Stop("error", "the BIOS did not jump to 0x%x (no boot sector? `make run` "
                   "shows the BIOS's screen); the CPU stopped at 0x%x" % (boot, here))


def to_ap_start(target, cpu, symbols):
    """Run until AP cpu stops at its first instruction. The APs start one
    after the other, so CPUs 1 .. cpu-1 stop there first: each is stepped
    past it, alone."""
    start = symbols.get(project.AP_NAMES[0])
    if start is None:
        raise Stop("error", "the kernel has no %s: it was built without SMP="
                   % project.AP_NAMES[0])
    end = symbols[project.END]
    target.insert(remote.BREAK, start)
    target.insert(remote.BREAK, end)
    try:
        for _ in range(cpu):
            reply = target.resume(LEG_TIMEOUT_S)
            here = remote.Remote.stop_cpu(reply) if reply else None
            lin = Machine(target, here or 0).fresh().pc_linear
            if lin == end:
                raise Stop("error", "the kernel reached %s before CPU %d ran %s: the BSP "
                           "gave up on it (make run-headless with the same SMP= says why)"
                           % (project.END, cpu, project.AP_NAMES[0]))
            if reply is None or lin != start:
                raise Stop("error", "CPU %d did not reach %s within %d s (CPU %d stopped at "
                           "0x%x)" % (cpu, project.AP_NAMES[0], LEG_TIMEOUT_S, here or 0, lin))
            if here == cpu:
                return
            target.remove(remote.BREAK, start)      # an earlier AP: on past the breakpoint
            target.start_step(target.step_packet(here))
            target.stop_reply()
            target.insert(remote.BREAK, start)
        raise Stop("error", "CPU %d never stopped at %s" % (cpu, project.AP_NAMES[0]))
    finally:
        target.remove(remote.BREAK, start)
        target.remove(remote.BREAK, end)


def trace(target, cpu, symbols, show_bios, limit, exec_log_path, deadline):
    """The records of one trace, its last an end record."""
    records, tracer = [], None
    try:
        if cpu:
            to_ap_start(target, cpu, symbols)
            names = project.AP_NAMES
            ends = {symbols[project.AP_PARK]: project.AP_PARK} \
                if project.AP_PARK in symbols else {}
            log = NoExecLog()
        else:
            to_boot_sector(target)
            names, ends = project.NAMES, {}
            log = ExecLog(target.monitor, exec_log_path)
        records.append(dict(k="start", t=time.monotonic(), cpu=cpu, names=names,
                            symbols={n: symbols[n] for n in names if n in symbols}))
        tracer = Tracer(target, cpu, show_bios, limit, log, deadline, ends, locked=bool(cpu))
        tracer.run()
    except Stop as e:
        end = dict(k="end", reason=e.reason, message=str(e), t=time.monotonic(),
                   empty_steps=tracer and tracer.empty_steps, **e.extra)
    except remote.RemoteError as e:
        end = dict(k="end", reason="error", message=str(e), t=time.monotonic(),
                   lost=isinstance(e, remote.ConnectionLost))
    return records + (tracer.records if tracer else []) + [end]
