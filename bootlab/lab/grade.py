"""Grade the lab (make grade, make grade EX=N): python3 -m bootlab.lab.grade.

Reads lab/answers.txt, runs each exercise's checker (checks.py) against
the live machine and prints PASS/FAIL per check with points and a total.
How the checkers work: gradelib.py. Exit status 0 only with full marks.
"""
import argparse
import concurrent.futures
import os
import sys
import time
from pathlib import Path

from .. import proc
from . import checks  # noqa: F401  (registers the exercises)
from .gradelib import (ANSWERS, EXERCISES, LOGS, ROOT, AnswersError, Grader, Wrong,
                       read_answers)



def grade_one(number, answers, scripts):
    title, fn = EXERCISES[number]
    g = Grader(answers, scripts)
    try:
        fn(g)
    except Wrong as e:
        g.results.append(("setup", 1, "FAIL", str(e)))
    except Exception as e:  # a broken checker must not hide the others
        g.results.append(("checker", 1, "FAIL", f"the checker itself failed: {e!r}"))
    return number, title, g


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ex", type=int, action="append", help="grade only exercise N")
    parser.add_argument("--answers", type=Path, default=ANSWERS)
    parser.add_argument("--scripts", type=Path, default=ROOT / "lab/scripts",
                        help="where your GDB scripts are (default lab/scripts)")
    parser.add_argument("-j", "--jobs", type=int, default=max(2, os.cpu_count() or 2))
    args = parser.parse_args(argv)
    numbers = args.ex or sorted(EXERCISES)
    unknown = [n for n in numbers if n not in EXERCISES]
    if unknown:
        print(f"grade: no exercise {unknown[0]}; there are {min(EXERCISES)}-{max(EXERCISES)}")
        return 2
    notes = []
    try:
        answers = read_answers(args.answers, notes)
    except AnswersError as e:
        print(f"grade: {e}")
        return 2
    for note in notes:
        print(f"grade: {note}")
    start = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        graded = list(pool.map(lambda n: grade_one(n, answers, args.scripts), numbers))
    total = full = done = optional = 0
    for number, title, g in graded:
        counted = g.counted()
        got = sum(p for _, p, s, _ in counted if s == "PASS")
        out_of = sum(p for _, p, _, _ in counted)
        total, full = total + got, full + out_of
        print(f"Exercise {number:2d}: {title} ({got}/{out_of})")
        for name, points, status, message in counted:
            print(f"  {status} {name} ({points} pt{'s' if points != 1 else ''})"
                  + (f": {message}" if message else ""))
        challenges = g.challenges()
        if challenges:
            print("  challenge self-checks (optional, not in the score):")
            for name, _, status, message in challenges:
                print(f"    {status} {name}" + (f": {message}" if message else ""))
            done += sum(1 for r in challenges if r[2] == "PASS")
            optional += len(challenges)
        log = LOGS / f"ex{number:02d}.log"
        if g.logs and got < out_of:
            log.write_text("\n\n".join(g.logs))
            shown = log.relative_to(ROOT) if ROOT in log.parents else log
            print(f"  (the grader's notes are kept in {shown})")
        elif log.exists():
            log.unlink()
    if optional:
        print(f"Challenges: {done} of {optional} self-checks match (optional, not in the score)")
    print(f"Score: {total}/{full}  ({time.monotonic() - start:.1f} s)")
    return 0 if total == full else 1


if __name__ == "__main__":
    proc.entry_point(main, "grade")
