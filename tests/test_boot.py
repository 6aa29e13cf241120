"""The boot chain in QEMU: the image boots to the kernel banner (on the debug
port and in VGA memory), every FAULT= variant shows its panic, and each boot
failure explains itself."""
import re
import shutil
import subprocess

import pytest

from bootlab import project

from conftest import (BUILD, EXIT_FAILURE, EXIT_SUCCESS, ROOT, gdb_batch, make,
                      run_qemu, vga_text)

BANNER = "bootlab: 64-bit kernel running in long mode"


def test_image_layout(image):
    data = image.read_bytes()
    assert data[510:512] == b"\x55\xaa", "boot signature at offsets 510-511"
    assert len(data) % 512 == 0
    # The kernel's first bytes are lm_entry's: image offset = KERNEL_LBA * 512.
    kernel = (BUILD / "kernel.bin").read_bytes()
    lba = project.const("KERNEL_LBA")
    assert data[lba * 512:lba * 512 + len(kernel)] == kernel


def test_per_mode_symbol_files(image):
    for elf, arch, names in (
            ("boot16.elf", "elf32-i386", ["boot_start", "stage2_loaded", "a20_enabled",
                                          "e820_done", "long_mode_supported",
                                          "gdt_loaded", "pe_set"]),
            ("boot32.elf", "elf32-i386", ["pm_entry", "page_tables_built",
                                          "pae_enabled", "cr3_loaded", "lme_set", "pg_set"]),
            ("kernel.elf", "elf64-x86-64", ["lm_entry", "kmain", "console_init"])):
        head = subprocess.check_output(["objdump", "-f", BUILD / elf], text=True)
        assert arch in head
        sections = subprocess.check_output(["objdump", "-h", BUILD / elf], text=True)
        assert ".debug_line" in sections and ".debug_info" in sections
        sym = (BUILD / elf).with_suffix(".sym").read_text().split("\n")
        sym_names = {line.split()[1] for line in sym if line}
        for name in names:
            assert name in sym_names, f"{name} missing from {elf}'s .sym"
        assert (BUILD / elf).with_suffix(".lst").stat().st_size > 0
    first = (BUILD / "boot16.sym").read_text().split("\n")[0].split()
    assert first == ["00007c00", "boot_start"], "Bochs ldsym form: 'hexaddr name'"


def test_headless_boot_prints_banner_on_debug_port(image, tmp_path):
    status, out = run_qemu(image, tmp_path)
    assert status == EXIT_SUCCESS, out
    lines = out.splitlines()
    assert lines[0] == BANNER
    assert "boot drive: 0x80" in out
    assert re.search(r"E820 memory map, \d+ entries", out)
    assert re.search(r"0000000000100000 - [0-9a-f]{16}  usable RAM", out)
    assert "all checks passed" in out


def test_banner_is_in_vga_memory(image, tmp_path):
    """Stop at debug_exit (the kernel is done) and read the 80x25 cells."""
    dump = tmp_path / "vga.bin"
    result = gdb_batch(["hbreak debug_exit", "continue",
                        f"dump binary memory {dump} 0xb8000 0xb8fa0", "kill"])
    assert dump.exists(), result.stdout
    screen = vga_text(dump.read_bytes())
    assert screen[0] == BANNER
    assert screen[1].startswith("boot drive: 0x80")
    assert any("all checks passed" in line for line in screen)
    # The banner is light green on black (attribute 0x0a), the rest grey.
    assert dump.read_bytes()[1] == 0x0a
    assert dump.read_bytes()[80 * 2 + 1] == 0x07


# FAULT=name -> (panic headline, other lines that must be there)
FAULTS = {
    "de": ("CPU exception 0, #DE Divide Error", []),
    "bp": ("CPU exception 3, #BP Breakpoint", []),
    "ud": ("CPU exception 6, #UD Invalid Opcode", []),
    "gp": ("CPU exception 13, #GP General Protection", ["error code: 0x0"]),
    "pf": ("CPU exception 14, #PF Page Fault",
           ["error code: 0x2", "CR2 (faulting address): 0x0000000080000000",
            "cause: write on a page that is not present, in kernel mode"]),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_variant_panics_readably(fault, variant, tmp_path):
    build = variant(FAULT=fault)
    status, out = run_qemu(build / "bootlab.img", tmp_path)
    assert status == EXIT_FAILURE, out
    headline, details = FAULTS[fault]
    assert f"KERNEL PANIC: {headline}" in out
    for line in details:
        assert line in out
    rip = int(re.search(r"RIP=0x([0-9a-f]{16})", out).group(1), 16)
    for reg in ("RSP", "RFLAGS", "RAX", "R15"):
        assert f"{reg}=" in out or f"{reg} =" in out
    # The RIP points into trigger_configured_fault (the faulting instruction).
    where = subprocess.check_output(["addr2line", "-f", "-e", build / "kernel.elf",
                                     hex(rip)], text=True)
    assert where.startswith("trigger_configured_fault"), where


def test_unknown_fault_name_is_refused(tmp_path):
    proc = make(f"B={tmp_path}", "FAULT=xx", check=False)
    assert proc.returncode != 0
    assert "FAULT=xx is not one of: de bp ud gp pf" in proc.stderr


def test_cpu_without_long_mode_is_explained(image, tmp_path):
    status, out = run_qemu(image, tmp_path, cpu="qemu32")
    assert status == EXIT_FAILURE
    assert "bootlab: this CPU has no long mode (64-bit)" in out
    assert "kernel" not in out


def test_image_missing_whole_sectors_reports_disk_error(image, tmp_path):
    """Cut inside stage 2: the BIOS refuses a read that starts past the end."""
    short = tmp_path / "short.img"
    short.write_bytes(image.read_bytes()[:9 * 512])
    status, out = run_qemu(short, tmp_path)
    assert status == EXIT_FAILURE
    assert re.fullmatch(r"bootlab: disk read error, BIOS status 0x[0-9a-f]{2}\r?\n", out), out
    assert "status 0x00" not in out, "a failed read has a non-zero status"


def test_image_missing_its_tail_is_caught_by_end_marker(image, tmp_path):
    """Cut the last sectors: SeaBIOS reads a request that runs past the end
    without an error, so only the end marker tells."""
    short = tmp_path / "short.img"
    short.write_bytes(image.read_bytes()[:-1024])
    status, out = run_qemu(short, tmp_path)
    assert status == EXIT_FAILURE
    assert out.strip() == "bootlab: kernel end marker missing: disk image truncated?"


def _copy_sources(dest):
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    return dest


def test_clean_build_reports_sizes(tmp_path):
    src = _copy_sources(tmp_path / "src")
    proc = make(cwd=src)
    assert re.search(r"^boot sector: \d+ of 510 bytes$", proc.stdout, re.M)
    assert re.search(r"^kernel: \d+ of \d+ bytes$", proc.stdout, re.M)
    assert (src / "build/bootlab.img").exists()
    again = make(cwd=src)
    assert again.stdout == "", "a second make has nothing to do"


def test_oversized_boot_sector_fails_with_sizes(tmp_path):
    src = _copy_sources(tmp_path / "src")
    boot = src / "boot/boot.asm"
    boot.write_text(boot.read_text().replace("section .bootsig", "times 200 nop\nsection .bootsig"))
    proc = make(cwd=src, check=False)
    assert proc.returncode != 0
    assert re.search(r"error: boot sector is too big: \d+ of 510 bytes", proc.stderr), proc.stderr


def test_oversized_kernel_fails_with_sizes(tmp_path):
    src = _copy_sources(tmp_path / "src")
    (src / "kernel/ballast.c").write_text(
        "__attribute__((used)) const char ballast[300 * 1024] = {1};\n")
    proc = make(cwd=src, check=False)
    assert proc.returncode != 0
    assert re.search(r"error: kernel is too big: \d+ of \d+ bytes \(the loader reads "
                     r"at most KERNEL_MAX_SECTORS = 512 sectors", proc.stderr), proc.stderr


def test_milestones_are_labels_of_the_build(image):
    """Every milestone and failure symbol the tools use is a label the build
    defines (bootlab.project holds the one list)."""
    table = project.read_symbols(project.symbol_paths())
    for name in project.NAMES + [project.END] + list(project.FAILURES):
        assert name in table, name
