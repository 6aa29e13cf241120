"""make lab-reset: lab/answers.txt and lab/scripts/ back as they shipped
(git's HEAD version), after a copy of what they hold now.

    python3 -m bootlab.lab.reset [--yes]

It first names every file that would change (your answers, your scripts,
and files in lab/scripts/ that git does not know, which are removed), then
asks. Without a terminal to ask on (stdin is no tty) it refuses unless
--yes (make lab-reset YES=1): a script must say so. Before anything is
replaced, the files as they are go to BUILD/lab-backup-TIMESTAMP/ (BUILD:
$BOOTLAB_BUILD, as make exports it, else build/). Every problem is one
line and exit status 1.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import proc, project
from . import gradelib

ROOT = project.ROOT
PATHS = ("lab/answers.txt", "lab/scripts")
GIT_LIMIT_S = 30


class Refused(Exception):
    pass


def git(*args):
    try:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=GIT_LIMIT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Refused("git %s failed: %s" % (args[0], e))
    if run.returncode != 0:
        why = (run.stderr.strip().splitlines() or ["exit status %d" % run.returncode])[-1]
        raise Refused("make lab-reset needs git's copy of the shipped files, and git says: "
                      + why)
    return run.stdout


def differences():
    """[(path, what)] of the files under PATHS that are not as HEAD has them."""
    found = []
    for line in git("diff", "--no-renames", "--name-status", "HEAD", "--", *PATHS).splitlines():
        status, path = line.split("\t", 1)
        what = {"D": "deleted: it comes back", "A": "not shipped: removed"}.get(status[0],
                                                                              "changed")
        found.append((path, what))
    for path in git("ls-files", "--others", "--", *PATHS).splitlines():
        found.append((path, "not shipped: removed"))
    for i, (path, what) in enumerate(found):
        if path == "lab/answers.txt" and what == "changed":
            try:
                filled = sum(1 for v in gradelib.read_answers(ROOT / path).values() if v)
            except gradelib.AnswersError:       # not UTF-8, too big: still yours
                continue
            found[i] = (path, "changed: %d answer%s filled in" % (filled, "" if filled == 1 else "s"))
    return sorted(found)


def backup_dir():
    build = Path(os.environ.get("BOOTLAB_BUILD") or project.BUILD)
    if not build.is_absolute():
        build = ROOT / build
    return build / time.strftime("lab-backup-%Y%m%d-%H%M%S")


def confirm(found, backup, yes):
    width = max(len(p) for p, _ in found)
    print("make lab-reset puts lab/answers.txt and lab/scripts/ back as they shipped "
          "(git's HEAD). It replaces:")
    for path, what in found:
        print("  %-*s  %s" % (width, path, what))
    print("A copy of them goes to %s first." % shown(backup))
    if yes:
        return True
    if not sys.stdin.isatty():
        raise Refused("make lab-reset asks before it replaces your files, and there is no "
                      "terminal to ask on: run it with YES=1 to go ahead")
    try:
        reply = input("Reset these files? [y/N] ")
    except EOFError:
        reply = ""
    return reply.strip().lower() in ("y", "yes")


def shown(path):
    return path.relative_to(ROOT) if ROOT in path.parents else path


def reset(found, backup):
    for path, _ in found:
        source = ROOT / path
        if source.is_file():
            (backup / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, backup / path)
    git("checkout", "HEAD", "--", *PATHS)
    for path, what in found:
        if what.startswith("not shipped"):
            (ROOT / path).unlink(missing_ok=True)
    git("reset", "-q", "--", *PATHS)      # nothing of ours left staged


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make lab-reset", description=__doc__.split("\n")[0])
    parser.add_argument("--yes", action="store_true", help="do not ask (make lab-reset YES=1)")
    args = parser.parse_args(argv)
    try:
        found = differences()
        if not found:
            print("bootlab: lab/answers.txt and lab/scripts/ are as they shipped; nothing to reset")
            return 0
        backup = backup_dir()
        if not confirm(found, backup, args.yes):
            print("bootlab: nothing reset")
            return 0
        reset(found, backup)
    except (Refused, OSError) as e:
        print("bootlab: %s" % e, file=sys.stderr)
        return 1
    print("bootlab: lab/answers.txt and lab/scripts/ are as they shipped; yours are in %s"
          % shown(backup))
    return 0


if __name__ == "__main__":
    proc.entry_point(main, "lab-reset")
