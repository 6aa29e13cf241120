"""run.py: boot bootlab in Bochs, headless or with the debugger at 0x7c00.

  run.py             headless (make run-bochs, tests): boot to debug_exit,
                     print the debug console (port 0xE9) and the VGA screen;
                     exit 0 when the kernel reported DEBUG_EXIT_SUCCESS
  run.py --debug     make debug-bochs: Bochs' debugger on this terminal,
                     symbols loaded, stopped at 0x7c00, a short banner

The display is x when $DISPLAY is set, else term. With the debugger compiled
in, term draws the guest screen on a pseudo-terminal of its own: run.py
prints its name, and inside tmux opens a pane that shows it (ptyview.py).
BOCHS_DISPLAY=x|term overrides the choice. make's SMP=N (BOOTLAB_SMP) gives
Bochs N CPUs (configs/bochsrc, cpu: count).
"""

import argparse
import os
import signal
import subprocess
import sys
import threading

from .. import proc, project
from ..qemu import cmdline
from . import driver, parse
from .tour import instruction_after


HERE = os.path.dirname(os.path.abspath(__file__))

BANNER = """\
bootlab: Bochs debugger, stopped at 0x7c00 (boot_start), symbols loaded.
  c                   run to the next transition (xchg bx,bx) or breakpoint
  s [N] / n           one (N) instruction(s) / step over a call
  u /10               disassemble 10 instructions here (with symbol names)
  lb "kmain"          breakpoint on a symbol (quoted); blist, d N to list/delete
  creg / sreg / r     control regs + EFER / segments + GDTR / general registers
  info gdt            the GDT decoded;  page 0xb8000   the page walk of an address
  xp /16bx 0xb8000    physical memory (x for linear); writemem "f" ADDR LEN
  show mode           toggle "switched from ... to ..." messages; modebp stops there
  q                   quit (Ctrl-C while running drops back to this prompt)
"""


def headless(image, cpus=1):
    run_dir = driver.RunDir(image, keep_log_as=os.path.join(driver.BUILD, "run-bochs.log"),
                            cpus=cpus)
    try:
        with driver.BochsSession(run_dir, "term") as s:
            driver.load_symbols(s)
            table = project.read_symbols(driver.symbol_paths())
            failures = [f for f in project.FAILURES if f in table]
            for name in [project.END] + failures:
                s.command(f'lb "{name}"')
            ends = {table[project.END]}
            if cpus > 1:
                # Bochs 2.7 with several CPUs misses a breakpoint on the first
                # instruction of a CPU's turn (`c` runs each CPU for a quantum
                # and takes that instruction for the one it stopped at): a
                # second one on the next instruction catches debug_exit then.
                ends.add(instruction_after(driver.BUILD, table[project.END]))
                s.command(f"lb {max(ends):#x}")
            console = []
            # Magic breakpoints stop at every transition (each AP's too): go on
            # until a breakpoint.
            for _ in range(4 * len(project.NAMES) * cpus):
                out, timed_out = s.cont()
                stop = parse.parse_stop(out)
                if stop["console"]:
                    console.append(stop["console"])
                if timed_out or stop["kind"] == "break":
                    break
            print("debug console (port 0xE9):")
            print("\n".join(console))
            where = project.nearest_symbol(table, stop["addr"])
            if stop["kind"] == "break" and stop["addr"] in ends:
                status = parse.parse_rdi(s.command("r")) & 0xff
                path = os.path.join(run_dir.path, "vga.bin")
                s.command(f'writemem "{path}" {parse.VGA_TEXT_ADDR:#x} {parse.VGA_BYTES}')
                print("VGA text screen:")
                with open(path, "rb") as f:
                    print(parse.render_screen(parse.vga_lines(f.read())))
                if status == parse.DEBUG_EXIT_SUCCESS:
                    driver.say("Bochs run ended in debug_exit(DEBUG_EXIT_SUCCESS)")
                    return 0
                driver.say(f"Bochs run ended in debug_exit({status:#x}): the kernel reported a failure")
                return 1
            why = f"no breakpoint within {driver.LEG_LIMIT} s" if timed_out else "failure path"
            driver.say(f"Bochs run stopped early at {where} ({stop['insn']}): {why}")
            kept = run_dir.keep_log()
            if kept:
                driver.say(f"Bochs log kept in {os.path.relpath(kept, driver.ROOT)}")
            return 1
    finally:
        run_dir.remove()


def show_screen_hint(pty):
    """Point the learner at the term display's pty (or open a tmux pane)."""
    viewer = f"{sys.executable} {os.path.join(HERE, 'ptyview.py')} {pty}"
    if os.environ.get("TMUX"):
        r = subprocess.run(["tmux", "split-window", "-d", "-h", "-l", "82", viewer],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            driver.say(f"guest screen ({pty}) in the tmux pane to the right")
            return
    driver.say(f"guest screen is on {pty}; to watch it, in another terminal run: {viewer}")


def interactive(image, display, cpus=1):
    """Bochs' debugger on this terminal. We stay as its parent only to
    relay stderr (to spot the pty announcement) and to clean up."""
    driver.preflight(display)
    run_dir = driver.RunDir(image, cpus=cpus)
    try:
        rc_file = os.path.join(run_dir.path, "debug.rc")
        with open(rc_file, "w") as f:
            for path in driver.symbol_paths():
                f.write(f'ldsym global "{path}"\n')
            f.write(f"lb {parse.K['BOOT_SECTOR_ADDR']:#x}\nc\n")
        driver.need_build(driver.symbol_paths())
        sys.stdout.write(BANNER)
        sys.stdout.flush()
        p = subprocess.Popen(["bochs", "-q", "-f", driver.BOCHSRC, "-rc", rc_file],
                             env=run_dir.env(display), cwd=run_dir.path, stderr=subprocess.PIPE,
                             preexec_fn=proc.die_with_parent)   # no orphan on the terminal
        # Ctrl-C belongs to Bochs (it stops the guest); we must survive it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

        panicked = []

        def relay():
            for line in iter(p.stderr.readline, b""):
                if b"Bochs is exiting with the following message" in line or b">>PANIC<<" in line:
                    panicked.append(line)
                m = driver.PTY_ANNOUNCE.search(line)
                if m:
                    show_screen_hint(m.group(1).decode())
                elif not line.startswith(b"0000") and b"ALSA" not in line:
                    sys.stderr.buffer.write(line)
                    sys.stderr.flush()
        t = threading.Thread(target=relay, daemon=True)
        t.start()
        p.wait()
        t.join(1)
        # Bochs' exit status after an interactive `q` is not 0 (245 was
        # seen), so only a PANIC counts as a failed session.
        return 1 if panicked else 0
    finally:
        run_dir.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--debug", action="store_true", help="interactive debugger at 0x7c00")
    ap.add_argument("--image", default=driver.IMAGE)
    args = ap.parse_args()
    try:
        cpus = cmdline.smp_from_env() or 1     # make's SMP=N: Bochs' cpu: count=N
        if args.debug:
            return interactive(args.image, os.environ.get("BOCHS_DISPLAY") or driver.default_display(),
                               cpus)
        driver.preflight("term")
        return headless(args.image, cpus)
    except (driver.BochsError, parse.ParseError, cmdline.BadOption) as e:
        driver.say(str(e))
        return 1


if __name__ == "__main__":
    proc.entry_point(main, "bootlab")
