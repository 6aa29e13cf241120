"""tour: take Bochs from power-on through every transition to debug_exit.

Shared by tourcli.py (prints what a learner would type and see) and
crosscheck.py (collects the state at each milestone). The tour sets
breakpoints on boot_start and kmain (no MAGIC_BREAK there), on debug_exit
(the end) and on the failure paths, then `c` leg by leg; magic breakpoints
do the rest. A leg that does not end at the next expected transition ends
the tour with where the CPU is and why it stopped (TourStopped).

With cpus > 1 and the SMP kernel, each AP's walk comes between kmain and
debug_exit: its milestones (project.AP_MILESTONES; ap_main by a breakpoint)
and ap_park, each of which must be that AP's stop. Bochs 2.7 with several
CPUs does not fire a breakpoint on the first instruction of a CPU's turn
(16 instructions each), so every breakpoint gets a second one on the next
instruction; a stop there counts as the label's, and the one right after a
stop on the label itself is passed over.
"""

import os

from .. import project
from ..x86 import decode
from . import driver, parse

AP_WALK = project.AP_NAMES + [project.AP_PARK]
ALL_NAMES = project.NAMES + AP_WALK
# Where each flat binary of the build is loaded, and the mode its code runs in.
BINARIES = (("kernel.bin", parse.K["KERNEL_ADDR"], 64),
            ("boot16.bin", parse.K["BOOT_SECTOR_ADDR"], 16))


class TourStopped(driver.BochsError):
    pass


def instruction_after(build, addr):
    """The linear address of the instruction after the one at addr (in the
    kernel or the real-mode boot code, as the .bin files hold them), or
    None elsewhere."""
    for name, base, bits in BINARIES:
        path = os.path.join(build, name)
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        if base <= addr < base + size:
            with open(path, "rb") as f:
                f.seek(addr - base)
                insns = decode.decode(f.read(decode.X86_MAX_INSN), addr, bits)
            return addr + insns[0].size if insns else None
    return None


class Tour:
    def __init__(self, session, build=driver.BUILD, echo=None, cpus=1):
        self.s = session
        self.build = build
        self.echo = echo or (lambda text: None)
        self.table = project.read_symbols(driver.symbol_paths(build))
        project.check_symbols(self.table)
        self.console = []           # port 0xE9 text, leg by leg
        self.cpus = cpus
        self.aps = cpus - 1 if cpus > 1 and project.AP_NAMES[0] in self.table else 0
        self.aliases = {}           # second-instruction breakpoint -> its label
        self.last = None            # (name, cpu) of the previous stop

    def command(self, line, limit=driver.COMMAND_LIMIT):
        """Run a debugger command, echoing it as typed at the prompt."""
        out = self.s.command(line, limit)
        self.echo(f"<bochs> {line}\n{out}")
        return out

    def breakpoint(self, name):
        self.command(f'lb "{name}"')
        if self.cpus > 1:
            after = instruction_after(self.build, self.table[name])
            if after is not None:
                self.command(f"lb {after:#x}")
                self.aliases[after] = name

    def setup(self):
        driver.load_symbols(self.s, self.build)
        self.echo("<bochs> " + "\n<bochs> ".join(f'ldsym global "build/{n}"'
                                                 for n in driver.SYMBOL_FILES) + "\n")
        self.command("show mode")       # print each mode switch as it happens
        labels = project.BREAKPOINT_ONLY + (project.END,)
        if self.aps:
            labels += ("ap_main", project.AP_PARK)
        for name in labels:
            self.breakpoint(name)
        self.failures = [f for f in project.FAILURES if f in self.table]
        for name in self.failures:
            self.breakpoint(name)

    def _where(self, stop):
        return f"{project.nearest_symbol(self.table, stop['addr'])} ({stop['insn']})"

    def leg(self, previous, expected, cpu=0):
        """`c` once (twice when the first stop is the second-instruction
        breakpoint of the label just visited); return the parsed stop, which
        must be CPU cpu's at `expected`."""
        while True:
            out, timed_out = self.s.cont()
            try:
                stop = parse.parse_stop(out)
            except parse.ParseError:
                self.echo(f"<bochs> c\n{out}")
                raise
            label = self.aliases.get(stop["addr"]) if stop["kind"] == "break" else None
            if timed_out or label is None or self.last != (label, stop["cpu"]):
                break
            if stop["console"]:
                self.console.append(stop["console"])
        # The caller shows this under its own heading; a failed leg shows it here.
        stop["transcript"] = f"<bochs> c\n{out}"
        try:
            stop = self._check(stop, previous, expected, timed_out, cpu)
        except TourStopped:
            self.echo(stop["transcript"])
            raise
        self.last = (stop["name"], stop["cpu"])
        return stop

    def _check(self, stop, previous, expected, timed_out, cpu=0):
        if stop["console"]:
            self.console.append(stop["console"])
        after = f"after {previous}" if previous else "from power-on"
        if timed_out:
            raise TourStopped(f"stopped early {after}: no transition within {driver.LEG_LIMIT} s; "
                              f"interrupted at {self._where(stop)}{self._why()}")
        label = self.aliases.get(stop["addr"]) if stop["kind"] == "break" else None
        at = self.table.get(label) if label else stop["addr"]
        if stop["kind"] == "break" and any(at == self.table[f] for f in self.failures):
            raise TourStopped(f"stopped early {after}: the boot took its failure path at "
                              f"{self._where(stop)}{self._why()}")
        name = project.transition_at(self.table, at, stop["kind"] == "magic", ALL_NAMES)
        if expected == project.END and stop["kind"] == "break" and at == self.table[expected]:
            name = expected
        if name != expected:
            got = name or self._where(stop)
            hint = ""
            if name == "boot_start" and self.s.run_dir.log_tail(r"exception with no resolution"):
                hint = " - a triple fault reset the CPU"
            raise TourStopped(f"stopped early {after}: expected {expected} next, reached {got}{hint}{self._why()}")
        if self.cpus > 1 and stop["cpu"] != cpu:
            raise TourStopped(f"stopped early {after}: expected CPU {cpu} at {expected}, "
                              f"CPU {stop['cpu']} stopped there{self._why()}")
        stop["name"] = name
        return stop

    def _why(self):
        parts = []
        console = "".join(self.console).strip()
        if console:
            parts.append("debug console (0xE9): " + console.splitlines()[-1])
        for line in self.s.run_dir.log_tail():
            parts.append("bochs log: " + line.split("] ", 1)[-1])
        return "".join("\n  " + p for p in parts)

    def legs(self):
        """(name, CPU) of every stop in order: the BSP's milestones, each
        AP's walk, the end."""
        out = [(name, 0) for name in project.NAMES]
        for ap in range(1, self.aps + 1):
            out += [(name, ap) for name in AP_WALK]
        return out + [(project.END, 0)]

    def run(self, visit):
        """Call visit(name, stop) at each transition (stop["cpu"] is the CPU
        that stopped: an AP's for its walk), then at debug_exit; returns the
        end stop with 'status' (debug_exit's argument)."""
        self.setup()
        previous = None
        for name, cpu in self.legs():
            stop = self.leg(previous, name, cpu)
            if name == project.END:
                stop["status"] = parse.parse_rdi(self.s.command("r")) & 0xff
            visit(name, stop)
            previous = name if not cpu else f"{name} on CPU {cpu}"
        return stop

    def screen(self):
        """The VGA text screen as 25 lines (writemem to a file in the run dir)."""
        path = os.path.join(self.s.run_dir.path, "vga.bin")
        out = self.s.command(f'writemem "{path}" {parse.VGA_TEXT_ADDR:#x} {parse.VGA_BYTES}')
        self.echo(f'<bochs> writemem "vga.bin" {parse.VGA_TEXT_ADDR:#x} {parse.VGA_BYTES}\n{out}')
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            raise driver.BochsError("writemem wrote no file: " + out.strip())
        return parse.vga_lines(raw)
