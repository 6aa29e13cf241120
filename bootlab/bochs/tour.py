"""tour: take Bochs from power-on through every transition to debug_exit.

Shared by tourcli.py (prints what a learner would type and see) and
crosscheck.py (collects the state at each milestone). The tour sets
breakpoints on boot_start and kmain (no MAGIC_BREAK there), on debug_exit
(the end) and on the failure paths, then `c` leg by leg; magic breakpoints
do the rest. A leg that does not end at the next expected transition ends
the tour with where the CPU is and why it stopped (TourStopped).
"""

import os

from .. import project
from . import driver, parse


class TourStopped(driver.BochsError):
    pass


class Tour:
    def __init__(self, session, build=driver.BUILD, echo=None):
        self.s = session
        self.echo = echo or (lambda text: None)
        self.table = project.read_symbols(driver.symbol_paths(build))
        project.check_symbols(self.table)
        self.console = []           # port 0xE9 text, leg by leg

    def command(self, line, limit=driver.COMMAND_LIMIT):
        """Run a debugger command, echoing it as typed at the prompt."""
        out = self.s.command(line, limit)
        self.echo(f"<bochs> {line}\n{out}")
        return out

    def setup(self):
        driver.load_symbols(self.s)
        self.echo("<bochs> " + "\n<bochs> ".join(f'ldsym global "build/{n}"'
                                                 for n in driver.SYMBOL_FILES) + "\n")
        self.command("show mode")       # print each mode switch as it happens
        for name in project.BREAKPOINT_ONLY + (project.END,):
            self.command(f'lb "{name}"')
        self.failures = [f for f in project.FAILURES if f in self.table]
        for name in self.failures:
            self.command(f'lb "{name}"')

    def _where(self, stop):
        return f"{project.nearest_symbol(self.table, stop['addr'])} ({stop['insn']})"

    def leg(self, previous, expected):
        """`c` once; return the parsed stop, which must be at `expected`."""
        out, timed_out = self.s.cont()
        try:
            stop = parse.parse_stop(out)
        except parse.ParseError:
            self.echo(f"<bochs> c\n{out}")
            raise
        # The caller shows this under its own heading; a failed leg shows it here.
        stop["transcript"] = f"<bochs> c\n{out}"
        try:
            return self._check(stop, previous, expected, timed_out)
        except TourStopped:
            self.echo(stop["transcript"])
            raise

    def _check(self, stop, previous, expected, timed_out):
        if stop["console"]:
            self.console.append(stop["console"])
        after = f"after {previous}" if previous else "from power-on"
        if timed_out:
            raise TourStopped(f"stopped early {after}: no transition within {driver.LEG_LIMIT} s; "
                              f"interrupted at {self._where(stop)}{self._why()}")
        if stop["kind"] == "break" and any(stop["addr"] == self.table[f] for f in self.failures):
            raise TourStopped(f"stopped early {after}: the boot took its failure path at "
                              f"{self._where(stop)}{self._why()}")
        name = project.transition_at(self.table, stop["addr"], stop["kind"] == "magic")
        if expected == project.END and stop["kind"] == "break" and stop["addr"] == self.table[expected]:
            name = expected
        if name != expected:
            got = name or self._where(stop)
            hint = ""
            if name == "boot_start" and self.s.run_dir.log_tail(r"exception with no resolution"):
                hint = " - a triple fault reset the CPU"
            raise TourStopped(f"stopped early {after}: expected {expected} next, reached {got}{hint}{self._why()}")
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

    def run(self, visit):
        """Call visit(name, stop) at each transition, then at debug_exit;
        returns the end stop with 'status' (debug_exit's argument)."""
        self.setup()
        previous = None
        for name in project.NAMES + [project.END]:
            stop = self.leg(previous, name)
            if name == project.END:
                stop["status"] = parse.parse_rdi(self.s.command("r")) & 0xff
            visit(name, stop)
            previous = name
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
