"""The guest RAM make debug shares with GDB (gdbext/guestram.py): bl maps
reads the page tables from it and shows exactly what it shows through
QEMU's monitor; a file that is not this guest's RAM is never believed."""
import fcntl
import os
import re
import subprocess

import pytest

from conftest import ROOT

from bootlab import guest, project, session
from bootlab.qemu import cmdline

USED = "python import bootlab.gdbext.guestram as g; print('SHARED READS %d' % g.used[0])"


@pytest.fixture(scope="module")
def bigmap(tmp_path_factory):
    return guest.build("bigmap", tmp_path_factory.mktemp("bigmap"))


def maps_session(image, labels, tmp, share=True, ram_fd=None):
    """bl maps at bigmap's `mapped` stop; (its output, shared reads)."""
    machine = cmdline.Machine(disk=image)
    ram = cmdline.ram_bytes(machine) if share else None
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp / "q.log",
                      ram_bytes=ram) as q:
        argv = cmdline.gdb(batch=True, commands=[
            q.target, "set bootlab context off", "tbreak *0x%x" % labels["mapped"], "continue",
            "echo MAPS\\n", "bl maps", "echo END\\n", USED])
        if ram_fd is None:
            r = session.batch_gdb(q, argv, 60, cwd=ROOT)
        else:       # a descriptor of our own in its place
            from bootlab import proc
            r = proc.run(argv, 60, cwd=ROOT, pass_fds=(ram_fd,),
                         env={**os.environ, "BOOTLAB_GUEST_RAM_FD": str(ram_fd)})
    assert r.ok, r.output
    maps = r.output.split("MAPS\n", 1)[1].split("END\n", 1)[0]
    return maps, int(re.search(r"SHARED READS (\d+)", r.output).group(1))


def test_bl_maps_from_shared_ram_is_what_the_monitor_shows(bigmap, tmp_path):
    image, labels = bigmap
    shared, used = maps_session(image, labels, tmp_path)
    assert used > 0, "bl maps did not read the shared RAM"
    alone, none = maps_session(image, labels, tmp_path, share=False)
    assert none == 0
    assert shared == alone
    assert "0x00000000fc000000-0x00000000ffffffff -> 0x0000000000000000    64 MiB" in shared


def test_a_file_that_is_not_the_guests_ram_is_not_believed(bigmap, tmp_path):
    """Same size, all zeros (as another QEMU's unused RAM would be): the
    check against the gdbstub fails, the monitor's reads are used."""
    image, labels = bigmap
    fd = os.memfd_create("not-the-guest")
    try:
        os.ftruncate(fd, cmdline.ram_bytes(cmdline.Machine(disk=image)))
        wrong, used = maps_session(image, labels, tmp_path, share=False, ram_fd=fd)
    finally:
        os.close(fd)
    alone, _ = maps_session(image, labels, tmp_path, share=False)
    assert used == 0 and wrong == alone


RAM_FILE = ("python import os; fd = os.environ['BOOTLAB_GUEST_RAM_FD']; "
            "print('RAM FILE %s %d' % (os.readlink('/proc/self/fd/' + fd), os.fstat(int(fd)).st_ino))")


def holders(inode):
    """The /proc/PID/fd/N that still hold the file with this inode."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            path = "/proc/%s/fd/%s" % (pid, fd)
            try:
                if "bootlab-guest-ram" in os.readlink(path) and os.stat(path).st_ino == inode:
                    found.append(path)
            except OSError:
                pass
    return found


def test_make_debug_shares_the_ram_and_keeps_no_file(image):
    r = subprocess.run(["make", "-s", "debug"], cwd=ROOT, capture_output=True, text=True,
                       input="bl phys 0x7c00 16\nbreak kmain\ncontinue\nbl maps\n%s\n%s\nquit\n"
                       % (USED, RAM_FILE), timeout=60, env={**os.environ, "DISPLAY": ""})
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(re.search(r"SHARED READS (\d+)", r.stdout).group(1)) > 0, r.stdout
    # The kernel's identity map of its first GiB with 2 MiB pages, read from the shared RAM.
    assert re.search(r"^0x0000000000000000-0x000000003fffffff -> 0x0000000000000000 +1 GiB",
                     r.stdout, re.M), r.stdout
    # A memfd (no name in any directory), and nothing holds it once the session is over.
    m = re.search(r"RAM FILE (\S+) \(deleted\) (\d+)$", r.stdout, re.M)
    assert m and m.group(1) == "/memfd:bootlab-guest-ram", r.stdout
    assert holders(int(m.group(2))) == []


def test_gdb_gets_the_ram_read_only(image, tmp_path):
    machine = cmdline.Machine(disk=image)
    with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd), tmp_path / "q.log",
                      ram_bytes=cmdline.ram_bytes(machine)) as q:
        (fd,) = q.gdb_fds()
        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        with pytest.raises(OSError):
            os.write(fd, b"x")
