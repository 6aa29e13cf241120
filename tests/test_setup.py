"""tools/setup.sh, which every make target runs first: it names missing
Debian packages with the exact command to install them (not root), or
installs them (root). dpkg-query, id and apt-get are replaced by shims that
play a machine on which nothing is installed."""
import os
import subprocess

from conftest import ROOT


def shim(bindir, name, script):
    path = bindir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def run_setup(tmp_path, uid, *groups):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim(bindir, "dpkg-query", "exit 1\n")            # nothing installed
    shim(bindir, "id", f"echo {uid}\n")
    shim(bindir, "apt-get", f'echo "apt-get $*" >> {tmp_path}/apt.log\n')
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    return subprocess.run([ROOT / "tools/setup.sh", *groups], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=30)


def test_not_root_prints_the_exact_command(tmp_path):
    proc = run_setup(tmp_path, 1000, "build")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "bootlab: missing Debian packages: binutils gcc make nasm",
        "bootlab: install them with: sudo apt-get install -y --no-install-recommends "
        "binutils gcc make nasm"]
    assert not (tmp_path / "apt.log").exists()


def test_root_installs_without_asking(tmp_path):
    proc = run_setup(tmp_path, 0, "debug")
    assert proc.returncode == 0, proc.stderr
    assert ("installing missing Debian packages: gdb lz4 python3-capstone qemu-system-x86 "
            "qemu-utils zstd") in proc.stdout
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "apt-get install -y -q --no-install-recommends gdb lz4 python3-capstone qemu-system-x86 "
        "qemu-utils zstd"]


def test_unknown_group_is_one_line(tmp_path):
    proc = run_setup(tmp_path, 1000, "everything")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("setup.sh: unknown group 'everything' "
                                   "(build run gui debug bochs check fresh toolchain all)")
