"""`make help` names every target the README's targets table names, and each
target it names exists (a rename such as walk -> tour must reach both)."""
import re
import subprocess

from bootlab.project import ROOT


def help_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30, check=True).stdout
    names = set()
    for line in out.splitlines():
        m = re.match(r"  ([a-z][\w-]*(?:, [a-z][\w-]*)*)(?: \(default\))?\s{2,}\S", line)
        if m:
            names.update(m.group(1).split(", "))
    return names


def readme_targets():
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| `make` | build"):]
    table = table[:table.index("\n\n")]
    return set(re.findall(r"`make ([a-z][\w-]*)", table))


def test_help_names_every_readme_target():
    missing = readme_targets() - help_targets() - {"help"}
    assert not missing, "README targets missing from make help: %s" % sorted(missing)


def test_every_target_in_help_exists():
    for name in sorted(help_targets()):
        r = subprocess.run(["make", "-n", "-q", name], cwd=ROOT, capture_output=True,
                           text=True, timeout=30)
        # -q: exit 0 (up to date) or 1 (would run); 2 means no such target
        assert r.returncode in (0, 1), "make help names %r, which make does not know:\n%s" % (
            name, r.stderr)
