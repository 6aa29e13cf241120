"""Two checkouts on one machine: their test runs, side by side, count and
clean only their own emulators and temporary files (the Bochs runs' private
directories, QEMU processes), so both pass. A subset of the suite that
starts every kind of emulator session runs in two fresh clones at once."""
import subprocess
import sys

from conftest import ROOT

SUBSET = ["tests/test_bochs_run.py", "tests/test_tour.py", "tests/test_link.py::"
          "test_session_link_takes_a_huge_monitor_output", "tests/test_debug_session.py"]


def test_two_clones_test_side_by_side(tmp_path):
    clones = []
    for name in ("one", "two"):
        path = tmp_path / name
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(path)], check=True,
                       timeout=60)
        subprocess.run(["make", "-s"], cwd=path, check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        clones.append(path)
    runs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              *SUBSET], cwd=path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for path in clones]
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    for p, out in zip(runs, outputs):
        assert p.returncode == 0, out[-3000:]
