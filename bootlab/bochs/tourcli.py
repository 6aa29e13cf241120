"""tourcli.py: the scripted Bochs tour behind `make tour-bochs`.

Boots build/bootlab.img in Bochs (headless: term display on Bochs' own pty),
stops at every transition in order and shows, as typed at the debugger
prompt: creg, sreg, info gdt, and `page 0xb8000` once paging is on; Bochs'
own mode-switch messages ("switched from 'real mode' to 'protected mode'")
appear in the `c` output. At debug_exit it reads the VGA text screen with
writemem and draws it. The transcript goes to stdout and to
build/tour-bochs.txt as it is made, so a run that stops early leaves what it
saw. Exit status 0 only when the whole tour completed.
"""

import argparse
import os
import sys
import time

from .. import proc, project
from . import driver, parse

from .tour import Tour

GDT_LINES_MAX = 16          # the BIOS leaves GDTR.limit=0xffff at reset: 8192 lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=driver.IMAGE)
    ap.add_argument("--out", default=os.path.join(driver.BUILD, "tour-bochs.txt"))
    ap.add_argument("-q", "--quiet", action="store_true", help="transcript to the file only")
    args = ap.parse_args()

    t0 = time.monotonic()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    out = open(args.out, "w")

    def echo(text):
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
        if not args.quiet:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")

    run_dir = session = None
    try:
        driver.preflight("term")
        run_dir = driver.RunDir(args.image, keep_log_as=os.path.join(driver.BUILD, "tour-bochs.log"))
        session = driver.BochsSession(run_dir, "term")
        echo("bootlab Bochs tour: from power-on through every transition to the first screen\n"
             "(each '<bochs> ' line is a command as you would type it in `make debug-bochs`)\n")
        tour = Tour(session, echo=echo)
        count = len(project.NAMES)

        def visit(name, stop):
            if name == project.END:
                echo(f"\n==== end: {name}, the kernel's last function")
                echo(stop["transcript"])
                return
            n = project.NAMES.index(name) + 1
            echo(f"\n==== {n}/{count} {name}: {project.MEANING[name]}")
            echo(stop["transcript"])
            if name == "boot_start" and stop["modes"]:
                echo("---- the mode switches above are the BIOS's own, before 0x7c00")
            creg = parse.parse_creg(tour.command("creg"))
            sreg = tour.command("sreg")
            s = parse.parse_sreg(sreg)
            if s["gdtr_limit"] // 8 < GDT_LINES_MAX:
                tour.command("info gdt")
            else:
                tour.command(f"info gdt 0 {GDT_LINES_MAX - 1}")
            if creg["cr0"] & parse.CR0_PG:
                tour.command(f"page {parse.VGA_TEXT_ADDR:#x}")

        end = tour.run(visit)
        status = end["status"]
        verdict = "DEBUG_EXIT_SUCCESS" if status == parse.DEBUG_EXIT_SUCCESS else "a failure code"
        echo(f"debug_exit({status:#x}) = {verdict} (RDI); the kernel halts next (cli; hlt)")
        lines = tour.screen()
        echo("VGA text screen at 0xb8000 (80x25, characters only):\n" + parse.render_screen(lines))
        console = "\n".join(tour.console)
        echo("debug console (port 0xE9):\n" + "\n".join("  " + l for l in console.splitlines()))
        if status != parse.DEBUG_EXIT_SUCCESS:
            raise driver.BochsError(f"the kernel ended with status {status:#x}, not DEBUG_EXIT_SUCCESS")
        echo(f"tour-bochs: {count}/{count} transitions in order, screen read, "
             f"{time.monotonic() - t0:.2f} s")
        ok = True
    except (driver.BochsError, parse.ParseError, KeyError) as e:
        msg = str(e).strip("'\"")
        echo(f"tour-bochs: FAILED: {msg}")
        if run_dir is not None:
            kept = run_dir.keep_log()
            if kept:
                echo(f"tour-bochs: Bochs log kept in {os.path.relpath(kept, driver.ROOT)}")
        ok = False
    finally:
        if session is not None:
            session.close()
        if run_dir is not None:
            run_dir.remove()
        out.close()
    print(f"bootlab: transcript in {os.path.relpath(args.out, driver.ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    proc.entry_point(main, "tour-bochs")
