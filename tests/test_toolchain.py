"""Which compiler the build picks (tools/toolchain/detect.sh and the Makefile's
CROSS line), checked with fake toolchains: tiny scripts named x86_64-elf-gcc
that announce themselves in --version and otherwise run the host's gcc.
Order: CROSS= given wins, else x86_64-elf-gcc on PATH, else the one
`make toolchain` built (stamp + gcc in the prefix), else the host's gcc.
The real cross compiler is checked by `make check-toolchain`, not here."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

TARGET = "x86_64-elf"
HOST_GCC = subprocess.run(["gcc", "--version"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
STAMP = "bootlab-toolchain.stamp"


def fake_toolchain(bindir: Path, label: str):
    """x86_64-elf-gcc and -ld that say "(label)" in --version and otherwise
    are the host's tools, plus the binutils the build calls."""
    bindir.mkdir(parents=True)
    for tool, host, version in (("gcc", "gcc", f"{TARGET}-gcc ({label}) 12.2.0"),
                                ("ld", "ld", f"GNU ld ({label}) 2.40")):
        script = bindir / f"{TARGET}-{tool}"
        script.write_text("#!/bin/sh\n"
                          f'[ "$1" = --version ] && {{ echo "{version}"; exit 0; }}\n'
                          f'exec {host} "$@"\n')
        script.chmod(0o755)
    for tool in ("objcopy", "objdump", "nm", "size", "readelf"):
        (bindir / f"{TARGET}-{tool}").symlink_to(f"/usr/bin/{tool}")


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    top = tmp_path_factory.mktemp("toolchains")
    fake_toolchain(top / "onpath", "fake on PATH")
    # Where make toolchain installs by default: $XDG_DATA_HOME/bootlab/toolchain.
    fake_toolchain(top / "xdg/bootlab/toolchain/bin", "fake in prefix")
    (top / "xdg/bootlab/toolchain" / STAMP).write_text("fake\n")
    # A build that stopped half-way: binaries but no stamp.
    fake_toolchain(top / "half/bin", "half-built")
    (top / "nothing").mkdir()
    return top


def system_path():
    """PATH without any directory that holds a real x86_64-elf-gcc."""
    return ":".join(d for d in os.environ["PATH"].split(":")
                    if d and not Path(d, f"{TARGET}-gcc").exists())


def env_for(fakes, on_path=False, xdg="nothing", prefix=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CROSS", "TOOLCHAIN_PREFIX", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = (f"{fakes / 'onpath'}:" if on_path else "") + system_path()
    env["XDG_DATA_HOME"] = str(fakes / xdg)
    if prefix:
        env["TOOLCHAIN_PREFIX"] = str(prefix)
    return env


def which_cc(env, *args):
    """make which-cc -> {'CROSS': (value, why), 'CC': (path, version), 'LD': ...}"""
    proc = subprocess.run(["make", "-s", "--no-print-directory", "which-cc", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        m = re.fullmatch(r"(CROSS|CC|LD) += (.*?): (.*)", line)
        assert m, f"unexpected line from make which-cc: {line!r}"
        out[m[1]] = (m[2].strip("'"), m[3])
    return out


def test_host_gcc_when_there_is_no_cross_compiler(fakes):
    got = which_cc(env_for(fakes))
    assert got["CROSS"][0] == ""
    assert "the host's gcc" in got["CROSS"][1]
    assert got["CC"] == ("gcc", HOST_GCC)
    assert got["LD"][0] == "ld"


def test_the_toolchain_make_toolchain_built(fakes):
    prefix = fakes / "xdg/bootlab/toolchain"
    got = which_cc(env_for(fakes, xdg="xdg"))
    assert got["CROSS"] == (f"{prefix}/bin/{TARGET}-", f"built by make toolchain in {prefix}")
    assert got["CC"] == (f"{prefix}/bin/{TARGET}-gcc", f"{TARGET}-gcc (fake in prefix) 12.2.0")
    assert got["LD"] == (f"{prefix}/bin/{TARGET}-ld", "GNU ld (fake in prefix) 2.40")


def test_toolchain_prefix_variable_moves_the_prefix(fakes):
    prefix = fakes / "xdg/bootlab/toolchain"
    got = which_cc(env_for(fakes, prefix=prefix))
    assert got["CC"][1] == f"{TARGET}-gcc (fake in prefix) 12.2.0"


def test_a_half_built_prefix_is_not_used(fakes):
    got = which_cc(env_for(fakes, prefix=fakes / "half"))
    assert got["CC"] == ("gcc", HOST_GCC)


def test_path_beats_the_prefix(fakes):
    got = which_cc(env_for(fakes, on_path=True, xdg="xdg"))
    assert got["CROSS"] == (f"{TARGET}-", f"{TARGET}-gcc is on PATH ({fakes}/onpath/{TARGET}-gcc)")
    assert got["CC"] == (f"{TARGET}-gcc", f"{TARGET}-gcc (fake on PATH) 12.2.0")


def test_cross_on_the_command_line_wins(fakes):
    env = env_for(fakes, on_path=True, xdg="xdg")
    got = which_cc(env, "CROSS=")
    assert got["CROSS"] == ("", "CROSS= given on the command line")
    assert got["CC"] == ("gcc", HOST_GCC)
    half = f"{fakes}/half/bin/{TARGET}-"
    got = which_cc(env, f"CROSS={half}")
    assert got["CC"] == (f"{half}gcc", f"{TARGET}-gcc (half-built) 12.2.0")


def test_switching_compiler_rebuilds(fakes, tmp_path):
    """The C objects depend on the compiler in use: a build with another one
    recompiles and relinks, the same one again does nothing."""
    targets = [f"{tmp_path}/kernel.elf", f"{tmp_path}/boot32.elf"]

    def build(env):
        proc = subprocess.run(["make", "--no-print-directory", f"B={tmp_path}", *targets],
                              cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return re.findall(r"^ +(CC|LD) +\S+/(\S+)$", proc.stdout, re.M)

    host, cross = env_for(fakes), env_for(fakes, on_path=True)
    c_objects = {p.stem + ".o" for p in (ROOT / "kernel").glob("*.c")}
    linked = {"boot32.elf", "kernel.elf"}
    build(host)
    for env in (cross, host):
        steps = build(env)
        assert {f for t, f in steps if t == "CC"} == c_objects
        assert {f for t, f in steps if t == "LD"} == linked
    assert build(host) == []
    assert (tmp_path / "gen/toolchain.id").read_text().splitlines()[1] == HOST_GCC


@pytest.mark.parametrize("cross, message", [
    ("", "no x86_64-elf toolchain: none on PATH, none built by make toolchain "
         "(run make toolchain first)"),
    ("arm-none-eabi-", "CROSS=arm-none-eabi- is not an x86_64-elf toolchain"),
])
def test_check_toolchain_without_a_cross_compiler(fakes, cross, message):
    proc = subprocess.run(["make", "-s", "--no-print-directory", "check-toolchain",
                           f"CROSS={cross}"], cwd=ROOT, env=env_for(fakes),
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert proc.stderr.splitlines()[0] == f"check-toolchain: FAIL: {message}"


def test_check_toolchain_notices_objects_from_another_compiler(fakes, tmp_path):
    """The fake on PATH calls itself x86_64-elf-gcc (fake on PATH) but its
    objects are the host gcc's: check-toolchain must say so, by name."""
    proc = subprocess.run(["make", "-s", "--no-print-directory", "check-toolchain",
                           f"B={tmp_path}", f"CROSS={fakes}/onpath/{TARGET}-"],
                          cwd=ROOT, env=env_for(fakes), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    vendor = HOST_GCC.split(" ", 1)[1]
    assert proc.stderr.splitlines()[0] == (
        f"check-toolchain: FAIL: {tmp_path}/toolchain-check/kernel/console.o: "
        f".comment says 'GCC: {vendor}', expected 'GCC: (fake on PATH) 12.2.0'")


def test_readme_which_cc_transcript_is_current(tmp_path):
    """README's `make which-cc` block, printed today for a toolchain (a fake
    with the real one's --version) in the prefix the README shows."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^\$ make which-cc\n(.*?)^```", readme, re.M | re.S)[1]
    shown = re.search(r"^CROSS = '(.*)/bin/", block, re.M)[1]
    prefix = tmp_path / "toolchain"
    bindir = prefix / "bin"
    bindir.mkdir(parents=True)
    for tool, version in (("gcc", f"{TARGET}-gcc (bootlab) 12.2.0"),
                          ("ld", "GNU ld (bootlab) 2.40")):
        (bindir / f"{TARGET}-{tool}").write_text(f"#!/bin/sh\necho '{version}'\n")
        (bindir / f"{TARGET}-{tool}").chmod(0o755)
    (prefix / STAMP).write_text("fake\n")
    env = env_for(tmp_path, prefix=prefix)
    env["XDG_DATA_HOME"] = str(tmp_path)
    proc = subprocess.run(["make", "-s", "--no-print-directory", "which-cc"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.stdout.replace(str(prefix), shown) == block
