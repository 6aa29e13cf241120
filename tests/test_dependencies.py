"""Every program and Python module the code runs comes from a Debian package
that tools/setup.sh installs, or that every Debian system has.

The list is read from the code git's HEAD holds (tests/depscan: subprocess
calls and command lists in Python, make recipes with their variables, shell
scripts, GDB's `target remote | exec`), never kept by hand, so a new call
site is checked the day it is committed (tools/setup.sh's lists are read
from the working tree: take a package out to see the test fail). Each
program is looked up on a fresh system's PATH, its file's package found with
dpkg -S, and that package must be one setup.sh installs for the group (its
list with what apt pulls in through Depends) or part of every Debian system
(Essential, Priority required: what a debootstrap minbase has, and their
dependencies).

Groups: a file is checked against `all` (what make check installs), but the
files in a directory named after a group that `all` leaves out
(tools/toolchain/, tools/fresh/) against that group and `all`. That group's
check is skipped where the group is not installed (its programs cannot be
looked up there).

This test caught, before it was fixed, that make record's qemu-img (package
qemu-utils) was missing from setup.sh: with qemu-utils taken out of the
debug group it fails with
  debug/rr/record.py:85 (and 1 more): qemu-img (/usr/bin/qemu-img) comes from
  the Debian package qemu-utils, which tools/setup.sh does not install for
  all: add qemu-utils to a group of tools/setup.sh (build run debug ...)
"""
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict

import pytest

from conftest import ROOT
import depscan

# A fresh Debian system's PATH for root, without /usr/local: what a package
# installs is there, what pip or a user put elsewhere (pyenv shims) is not.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
PYTHON = "/usr/bin/python3"          # the Makefile's PYTHON: it runs every .py
OPTIONAL_GROUPS = ("toolchain", "fresh")
# The gdb module exists only inside GDB's own Python: the gdb package has it.
MODULE_PACKAGES = {"gdb": "gdb"}
# Programs no Debian package has, on purpose: the x86_64-elf cross toolchain
# is built by the project (make toolchain, tools/toolchain/build.sh) into
# ~/.local/share/bootlab/toolchain and used only when present.
BUILT_BY_THE_PROJECT = re.compile(r"(.*/)?x86_64-elf-[\w+-]+")


def run(*args, check=True):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30, check=check).stdout


# ---- What the code uses -----------------------------------------------------

@pytest.fixture(scope="module")
def committed_files():
    """{path: text} of every text file in git's HEAD: what ships, not what a
    learner has since written into the checkout (lab/scripts/, answers)."""
    names = [n for n in run("git", "ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0") if n]
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=ROOT, capture_output=True, timeout=30,
                         input="".join(f"HEAD:{n}\n" for n in names).encode(), check=True).stdout
    files, at = {}, 0
    for name in names:                    # each: "<sha> blob <size>\n<bytes>\n"
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        data, at = out[header_end + 1:header_end + 1 + size], header_end + 2 + size
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            pass                          # binary: not code
    return files


@pytest.fixture(scope="module")
def uses(committed_files):
    return depscan.scan_texts(committed_files)


@pytest.fixture(scope="module")
def own_modules(committed_files):
    """Top-level names of the project's own modules: each .py file's stem,
    each package directory (one with __init__.py), and each top-level
    directory holding Python (a namespace package, e.g. `tests`, imported as
    tests.fixtures.stops from the checkout's root)."""
    names = set()
    for path in committed_files:
        if path.endswith(".py"):
            names.add(os.path.splitext(os.path.basename(path))[0])
            if "/" in path:
                names.add(path.split("/", 1)[0])
            if os.path.basename(path) == "__init__.py":
                names.add(os.path.basename(os.path.dirname(path)))
    return names


def group_of(path):
    """The optional group a file belongs to (a directory of that name), or 'all'."""
    dirs = os.path.dirname(path).split("/")
    return next((g for g in OPTIONAL_GROUPS if g in dirs), "all")


# ---- What Debian provides ---------------------------------------------------

@pytest.fixture(scope="module")
def packages():
    """{name: {installed, essential, depends: [[alternatives]], provides}}."""
    fields = "${Package}\t${db:Status-Status}\t${Essential}\t${Priority}\t" \
             "${Pre-Depends}, ${Depends}\t${Provides}\n"
    found, providers = {}, defaultdict(set)
    for line in run("dpkg-query", "-W", "-f", fields).splitlines():
        name, status, essential, priority, depends, provides = line.split("\t")
        if status != "installed":
            continue
        found[name] = {"base": essential == "yes" or priority == "required",
                       "depends": [[_name(alt) for alt in group.split("|")]
                                   for group in depends.split(",") if group.strip()]}
        for virtual in provides.split(","):
            if virtual.strip():
                providers[_name(virtual)].add(name)
    return found, providers


def _name(relation):
    """'libc6:any (>= 2.34)' -> 'libc6'"""
    return relation.split("(")[0].strip().split(":")[0]


def closure(seeds, packages):
    """The seeds and what apt installs with them (Pre-Depends, Depends; of
    alternatives the first one installed here, virtual names through their
    providers)."""
    found, providers = packages
    done, todo = set(), [s for s in seeds if s in found]
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for alternatives in found[name]["depends"]:
            for alt in alternatives:
                chosen = [alt] if alt in found else sorted(providers.get(alt, ()))
                if chosen:
                    todo += chosen
                    break
    return done


@pytest.fixture(scope="module")
def setup_lists():
    return {g: set(run("tools/setup.sh", "--list", g).split()) for g in ("all",) + OPTIONAL_GROUPS}


@pytest.fixture(scope="module")
def allowed(packages, setup_lists):
    """{group: the packages its files may take programs and modules from}."""
    base = [n for n, p in packages[0].items() if p["base"]]
    return {g: closure(base + sorted(setup_lists["all"] | setup_lists[g]), packages)
            for g in setup_lists}


def owners(paths):
    """{path: package} from one dpkg -S call for all paths."""
    out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30).stdout
    found = {}
    for line in out.splitlines():
        if not line.startswith("diversion by") and ": " in line:
            package, path = line.split(": ", 1)
            found[path] = package.split(",")[0].split(":")[0].strip()
    return found


def aliases(path):
    """The names dpkg may know a file by: itself, its /usr-merged twin
    (/bin/sh is /usr/bin/sh), its target through symlinks and alternatives."""
    names = []
    for p in (path, os.path.realpath(path)):
        for q in (p, re.sub(r"^/usr(/s?bin/)", r"\1", p), re.sub(r"^(/s?bin/)", r"/usr\1", p)):
            if q not in names:
                names.append(q)
    return names


# ---- The check --------------------------------------------------------------

def where(found):
    first = sorted(found, key=lambda u: (u.path, u.line))[0]
    more = len({(u.path, u.line) for u in found}) - 1
    return f"{first.path}:{first.line}" + (f" (and {more} more)" if more else "")


def hint(group, found):
    if group != "all":
        return f"the {group} group of tools/setup.sh"
    if all(u.path.split("/")[0] == "tests" for u in found):
        return "the check group of tools/setup.sh"
    return "a group of tools/setup.sh (build run debug bochs check: the one of the make target that runs it)"


def module_origins(names):
    """{module: file it is loaded from, or None} under /usr/bin/python3 -I
    (no user site-packages, no PYTHONPATH), and the stdlib's module names."""
    code = ("import importlib.util, json, sys\n"
            "def origin(n):\n"
            "    s = importlib.util.find_spec(n)\n"
            "    return s and (s.origin or next(iter(s.submodule_search_locations or []), None))\n"
            "names = json.loads(sys.argv[1])\n"
            "print(json.dumps([{n: origin(n) for n in names if n not in sys.stdlib_module_names},"
            " sorted(sys.stdlib_module_names)]))\n")
    out = subprocess.run([PYTHON, "-I", "-c", code, json.dumps(sorted(names))], cwd="/",
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


def problems(group, uses, own, allowed):
    """One line per program or module of the group's files that setup.sh
    does not provide."""
    programs, modules = defaultdict(list), defaultdict(list)
    for u in uses:
        if group_of(u.path) != group:
            continue
        if u.kind == "program" and not BUILT_BY_THE_PROJECT.fullmatch(u.name):
            programs[u.name].append(u)
        elif u.kind == "module" and u.name not in own:
            modules[u.name].append(u)
    paths = {name: program_path(name) for name in programs}
    origins, stdlib = module_origins(modules)
    package = packages_of([p for p in paths.values() if p] + [o for o in origins.values() if o])
    lines = []
    for name, found in sorted(programs.items()):
        what = f"{where(found)}: {name}"
        if paths[name]:
            what += f" ({paths[name]})"
        lines += problem(what, paths[name], package.get(paths[name]), group, found, allowed)
    for name, found in sorted(modules.items()):
        if name in stdlib:
            continue
        origin = origins.get(name)
        what = f"{where(found)}: Python module {name} ({origin or 'in GDB'})"
        lines += problem(what, origin or name in MODULE_PACKAGES,
                         MODULE_PACKAGES.get(name) or package.get(origin), group, found, allowed)
    return lines


def problem(what, path, package, group, found, allowed):
    """[] when package is one the group may use, else the line saying so."""
    if not path:
        return [f"{what}: not on this machine ({SYSTEM_PATH}; for a module: {PYTHON} -I cannot "
                f"import it): install the Debian package that has it and add it to {hint(group, found)}"]
    if not package:
        return [f"{what} is in no installed Debian package (dpkg -S): install it from Debian "
                f"and add its package to {hint(group, found)}"]
    if package not in allowed[group]:
        return [f"{what} comes from the Debian package {package}, which tools/setup.sh does not "
                f"install for {group}: add {package} to {hint(group, found)}"]
    return []


def program_path(name):
    """Where a fresh system's PATH finds the program (an absolute one as is)."""
    path = name if name.startswith("/") else shutil.which(name, path=SYSTEM_PATH)
    return path if path and os.access(path, os.X_OK) else None


def packages_of(paths):
    """{path: its Debian package} for the paths dpkg knows, by any alias."""
    owner = owners(sorted({a for p in paths for a in aliases(p)}))
    found = {}
    for p in paths:
        package = next((owner[a] for a in aliases(p) if a in owner), None)
        if package:
            found[p] = package
    return found


@pytest.mark.parametrize("group", ("all",) + OPTIONAL_GROUPS)
def test_every_program_and_module_comes_from_setup(group, uses, own_modules, packages, allowed,
                                                    setup_lists):
    """Every program and module of the group's files, from setup.sh's packages."""
    if group != "all":
        missing = sorted(setup_lists[group] - set(packages[0]))
        if missing:
            pytest.skip(f"the {group} group is not installed here ({' '.join(missing)} missing; "
                        f"make setup-{group}): its programs cannot be looked up")
    lines = problems(group, uses, own_modules, allowed)
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def test_the_scan_finds_the_known_call_sites(uses, committed_files):
    """A scan that finds nothing passes the check above: it must at least
    see programs named in each kind of file (Python, make, shell)."""
    kinds = defaultdict(set)
    for u in uses:
        if u.kind == "program":
            kinds[depscan.file_type(u.path, committed_files[u.path])].add(u.name)
    assert {"python", "make", "shell"} <= set(kinds), kinds
    assert all(len(names) >= 3 for names in kinds.values()), kinds
