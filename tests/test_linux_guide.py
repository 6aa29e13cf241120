"""README "Your own image or kernel": the worked session on Debian's own Linux
kernel (the vmlinuz of the linux-image-6.1.0-N-amd64 that linux-image-amd64
depends on), run as the guide says, one command at a GDB prompt, with the
transcript the README shows checked line by line against the session's.

The package is fetched into ~/.cache/bootlab/linux (apt-get download, then
dpkg-deb; nothing is installed) once; the test skips, saying why, only when
the package registry cannot be asked or reached. Each leg is timed; the
times go to the test's output (pytest -s) and build/linux-guide-times.txt."""
import re
import time

import pytest

from conftest import ROOT, BUILD
from bootlab.own import bzimage
from tests import linuxguide

README_MARK = "(gdb) bl until cr3"


@pytest.fixture(scope="module")
def kernel():
    started = time.monotonic()
    try:
        vmlinuz, package = linuxguide.fetch()
    except linuxguide.Unreachable as e:
        pytest.skip("Debian's kernel package cannot be fetched here: %s" % e)
    return vmlinuz, package, time.monotonic() - started


@pytest.fixture(scope="module")
def guide(kernel, tmp_path_factory):
    vmlinuz, package, fetched = kernel
    tmp = tmp_path_factory.mktemp("linux")
    started = time.monotonic()
    ex = bzimage.write(vmlinuz, tmp / "vmlinux.elf")
    extracted = time.monotonic() - started
    session = linuxguide.run_guide(tmp, tmp / "serial.log", tmp / "vmlinux.elf")
    times = [("fetch (cached after the first run)", fetched), ("make vmlinux", extracted)]
    times += [(cmd, took) for cmd, _, took in session.log]
    report = "\n".join("%-36s %6.2f s" % t for t in times)
    BUILD.mkdir(exist_ok=True)
    (BUILD / "linux-guide-times.txt").write_text(report + "\n")
    print("\n" + report)
    return session, ex, package


def out(session, cmd, nth=0):
    found = [o for c, o, _ in session.log if c == cmd]
    assert len(found) > nth, "no %r in:\n%s" % (cmd, session.transcript())
    return found[nth]


def test_the_payload_is_an_xz_compressed_stripped_elf(guide):
    _, ex, package = guide
    assert ex.compression == "xz" and ex.elf.startswith(b"\x7fELF")
    assert not ex.symbols, "Debian strips the vmlinux inside its vmlinuz"
    assert ex.entry == 0x1000000        # CONFIG_PHYSICAL_START: startup_64's physical address
    assert "%s-dbg" % package in " ".join(ex.notes("/boot/vmlinuz-" + package[12:]))


def test_leg1_real_mode_setup_code(guide):
    s, _, _ = guide
    assert "Linux bzImage (boot protocol 2.15); QEMU enters its real-mode setup code at " \
           "1020:0000" in s.stop
    # make debug's head start: QEMU is there when GDB connects (IP 0 to GDB)
    assert "-- bootlab: real, paging off -- 1020:0000 (linear 0x10200)" in s.stop
    assert "does not provide any symbols" in s.stop          # the stripped ELF, loaded
    assert "mode:   real\n" in out(s, "bl mode")


def test_leg2_the_32_bit_entry(guide):
    s, _, _ = guide
    text = out(s, "continue")
    assert "Breakpoint 2, 0x0000000000100000" in text and \
        "bootlab: mode real -> protected (32-bit)" in text, text


def test_leg3_the_decompressor_turns_on_long_mode_and_decompresses(guide):
    s, _, _ = guide
    first = out(s, "bl until mode")
    assert "bootlab: mode protected (32-bit), paging off -> compatibility (32-bit), paging " \
           "4-level" in first, first
    assert "-> 64-bit, paging 4-level" in out(s, "bl until mode", 1)
    assert "Breakpoint 3, 0x0000000001000000" in out(s, "continue", 1)


def test_leg4_the_kernels_own_page_tables_and_its_high_half(guide):
    s, _, _ = guide
    cr3 = out(s, "bl until cr3")
    assert re.search(r"bootlab: CR3 loaded: CR3 0x[0-9a-f]+ -> 0x[0-9a-f]+", cr3), cr3
    far = out(s, "bl until far")
    assert re.search(r"far transfer ahead: lretq at 0xffffffff81[0-9a-f]{6}", far), far
    where = out(s, "bl where 0x1000000")
    assert "0x0000000001000000  in the 2 MiB page" in where          # still identity-mapped
    assert "0xffffffff81000000  in the 2 MiB page" in where          # and its link address
    assert "physical 0x1000" in out(s, "bl walk $pc")


def test_leg5_a_running_kernel_tss_apic_msrs(guide):
    s, _, _ = guide
    assert "Program received signal SIGINT" in out(s, "continue", 2)
    tss = out(s, "bl tss")
    assert re.search(r"TR 0040 -> TSS64 at 0xfffffe00000\w+, limit 0x4087", tss), tss
    assert re.search(r"IST1\s+0xfffffe", tss) and "no I/O permission bitmap" in tss
    assert "SVR            0x000001ff  software-enabled" in out(s, "bl apic")
    assert re.search(r"IA32_GS_BASE\s+0xffff888", out(s, "bl msr"))


def readme_transcript():
    blocks, block = [], None
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
        elif block is not None:
            block.append(line)
    found = [b for b in blocks if README_MARK in b]
    assert len(found) == 1, "README must hold one transcript with %r" % README_MARK
    return found[0]


README_VERSION = re.compile(r"linux-image-(6\.1\.0-\d+-amd64)")


def test_readme_transcript_is_what_the_session_shows(guide):
    """Every line of the README's transcript, in order, except `...` (left
    out) and the `$ ` shell lines. The README shows the kernel version its
    text names; another build of it (a mirror that has moved on, or not yet
    got there) puts its tables and code elsewhere and takes other step
    counts, so then every number is left out of the comparison and only
    the session's shape is checked."""
    s, _, package = guide
    version = package[len("linux-image-"):]
    same_build = README_VERSION.search((ROOT / "README.md").read_text()).group(1) == version
    session_lines = [l.rstrip() for l in s.transcript().splitlines()]
    if not same_build:
        session_lines = [_numbers_out(l) for l in session_lines]
    at = 0
    for line in readme_transcript():
        if line.strip() in ("...", "") or line.startswith("$ "):
            continue
        line = re.sub(r"6\.1\.0-\d+-amd64", version, line).rstrip()
        if not same_build:
            line = _numbers_out(line)
        while at < len(session_lines) and not _same(session_lines[at], line):
            at += 1
        assert at < len(session_lines), "README line not in the session (in order): %r\n%s" % (
            line, s.transcript())
        at += 1


def _numbers_out(line):
    return re.sub(r"\b(0x)?[0-9a-f]*\d[0-9a-f]*\b", "N", line)


def _same(got, want):
    return got == want
