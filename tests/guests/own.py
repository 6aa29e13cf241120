"""Build the "someone else's system" guests of tests/test_own_image.py: a disk
image and kernels in each format QEMU's -kernel takes, each with the symbol
file its author would have. Nothing here uses bootlab's build or headers.

    python3 tests/guests/own.py OUTDIR     # build them all, list the files
"""
import subprocess
import sys
from pathlib import Path

GUESTS = Path(__file__).resolve().parent
LD = ["ld", "-z", "noexecstack"]


def _run(*cmd, cwd=None):
    subprocess.run([str(c) for c in cmd], check=True, timeout=30, cwd=cwd)


def _nasm(src, out, fmt, *defines):
    # Run in tests/guests/ with the bare file name: GDB then names the source
    # "multiboot.asm", as it would in the kernel author's own tree.
    _run("nasm", "-f", fmt, *(["-g", "-F", "dwarf"] if fmt.startswith("elf") else []),
         *defines, src, "-o", Path(out).resolve(), cwd=GUESTS)


def build(outdir):
    """Build every guest into outdir; returns {name: Path}."""
    d = Path(outdir)
    f = {name: d / name for name in (
        "bootsector.img", "bootsector.elf", "bootsector-at-0.elf", "multiboot.elf",
        "multiboot.bin", "multiboot64.elf", "bzimage.bin", "pvh.elf")}
    # A boot sector: the disk image is the ELF's code, so one source gives
    # both. A second link at address 0 stands for a symbol file whose
    # addresses must be moved to where the code runs (SYMS=FILE@0x7c00).
    _nasm("bootsector.asm", d / "bootsector.o", "elf32")
    _run(*LD, "-m", "elf_i386", "-Ttext", "0x7c00", "-e", "bs_start",
         "-o", f["bootsector.elf"], d / "bootsector.o")
    _run(*LD, "-m", "elf_i386", "-Ttext", "0", "-e", "bs_start",
         "-o", f["bootsector-at-0.elf"], d / "bootsector.o")
    _run("objcopy", "-O", "binary", f["bootsector.elf"], f["bootsector.img"])
    # Multiboot: an ELF32 kernel, the same code as a flat binary with header
    # addresses (a.out kludge), and a 64-bit ELF that QEMU refuses.
    _nasm("multiboot.asm", d / "multiboot.o", "elf32")
    _run(*LD, "-m", "elf_i386", "-Ttext", "0x100000", "-e", "mb_entry",
         "-o", f["multiboot.elf"], d / "multiboot.o")
    _nasm("multiboot.asm", f["multiboot.bin"], "bin", "-DAOUT_KLUDGE")
    _nasm("multiboot.asm", d / "multiboot64.o", "elf64")
    _run(*LD, "-m", "elf_x86_64", "-Ttext", "0x100000", "-e", "mb_entry",
         "-o", f["multiboot64.elf"], d / "multiboot64.o")
    # A bzImage, and an ELF with a PVH note (its one segment, headers and
    # note included, at 1 MiB).
    _nasm("bzimage.asm", f["bzimage.bin"], "bin")
    _nasm("pvh.asm", d / "pvh.o", "elf32")
    _run(*LD, "-m", "elf_i386", "-z", "noseparate-code", "-Ttext-segment=0x100000",
         "-e", "pvh_entry", "-o", f["pvh.elf"], d / "pvh.o")
    return f


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: own.py OUTDIR")
    Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
    for path in build(sys.argv[1]).values():
        print(path)
