"""bootlab/own/bzimage.py (make vmlinux KERNEL=...) on small bzImages built
here: the lab's own kernel.elf (with symbols) and a stripped copy, each
compressed the way the kernel build compresses its payload (with the 4-byte
size it appends), behind a setup header whose payload_offset/payload_length
point at it, with the relocations a relocatable kernel appends after the ELF.
Every compression Linux knows is tried: Python's modules do gzip, bzip2,
lzma and xz; Debian's lz4 and zstd programs the other two; lzo needs lzop.
(The real Debian kernel is tried in tests/test_linux_guide.py.)"""
import bz2
import gzip
import lzma
import shutil
import struct
import subprocess

import pytest

from conftest import ROOT, make
from bootlab.own import bzimage, kernelfmt

SETUP_SECTS = 3
RELOCS = b"\x00\x00\x00\x00" * 8           # stands in for vmlinux.relocs
LZO_TOOL = bzimage.TOOLS["lzo"][0][0]


def size_append(data):
    return struct.pack("<I", len(data) & 0xffffffff)


def compress(name, data):
    """As arch/x86/boot/compressed/Makefile and scripts/Makefile.lib do."""
    if name == "gzip":
        return gzip.compress(data, 9, mtime=0)          # its trailer holds the size
    if name == "bzip2":
        return bz2.compress(data, 9) + size_append(data)
    if name == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE) + size_append(data)
    if name == "xz":                                     # scripts/xz_wrap.sh: BCJ x86 + LZMA2, CRC32
        filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2}]
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                             filters=filters) + size_append(data)
    tool = {"lz4": ["lz4", "-l", "-9", "-c"], "zstd": ["zstd", "-19", "-c", "-q"]}[name]
    if not shutil.which(tool[0]):
        pytest.skip("%s is not installed here" % tool[0])
    out = subprocess.run(tool, input=data, capture_output=True, check=True, timeout=60).stdout
    return out + size_append(data)


def bzimage_of(payload, version=0x20f):
    """A setup part of SETUP_SECTS sectors with the header, then a stand-in
    decompressor, then the payload."""
    setup = bytearray((SETUP_SECTS + 1) * kernelfmt.SECTOR)
    setup[kernelfmt.LINUX_SETUP_SECTS_OFF] = SETUP_SECTS
    setup[kernelfmt.LINUX_MAGIC_OFF:kernelfmt.LINUX_MAGIC_OFF + 4] = kernelfmt.LINUX_MAGIC
    struct.pack_into("<H", setup, kernelfmt.LINUX_VERSION_OFF, version)
    setup[kernelfmt.LINUX_LOADFLAGS_OFF] = kernelfmt.LOADED_HIGH
    decompressor = b"\x90" * 0x300
    struct.pack_into("<II", setup, bzimage.PAYLOAD_OFFSET_OFF, len(decompressor), len(payload))
    return bytes(setup) + decompressor + payload + b"\xcc" * 64


@pytest.fixture(scope="module")
def elves(image, tmp_path_factory):
    """(kernel.elf with symbols, a stripped copy), as bytes."""
    elf = ROOT / "build" / "kernel.elf"
    stripped = tmp_path_factory.mktemp("bz") / "kernel-stripped.elf"
    subprocess.run(["objcopy", "-R", ".comment", "-S", str(elf), str(stripped)], check=True,
                   timeout=30)
    return elf.read_bytes(), stripped.read_bytes()


@pytest.mark.parametrize("name", ["gzip", "bzip2", "lzma", "xz", "lz4", "zstd"])
def test_every_compression_gives_back_the_elf(elves, name):
    elf, stripped = elves
    for original, symbols in ((elf, True), (stripped, False)):
        data = bzimage_of(compress(name, original + RELOCS))
        ex = bzimage.extract(data)
        assert ex.compression == name
        assert ex.elf == original, "the ELF, without the relocations after it"
        assert ex.symbols is symbols
        assert ex.entry == struct.unpack_from("<Q", original, 24)[0]


def test_notes_say_when_there_are_no_symbols(elves):
    _, stripped = elves
    ex = bzimage.extract(bzimage_of(compress("gzip", stripped)))
    notes = " ".join(ex.notes("/boot/vmlinuz-6.1.0-57-amd64"))
    assert "no symbol table" in notes and "linux-image-6.1.0-57-amd64-dbg" in notes
    full = bzimage.extract(bzimage_of(compress("gzip", elves[0])))
    assert not any("no symbol table" in n for n in full.notes("k"))


def test_refusals_are_one_sentence(elves):
    elf, _ = elves
    good = compress("gzip", elf)
    cases = {
        b"\0" * 4096: "not a Linux bzImage",
        bzimage_of(good, version=0x207): "only from 2.08 on",
        bzimage_of(good)[:3000]: "outside the file",
        # (no lzo tool is installed by tools/setup.sh: the program is named, not run)
        bzimage_of(b"\x89LZO\x00" + bytes(64)): "lzo payload needs the lzop program"
        if not shutil.which(LZO_TOOL) else "lzo",
        bzimage_of(b"ABCDEFGH" + bytes(64)): "which is none of gzip, bzip2",
        bzimage_of(compress("gzip", b"not an elf at all" * 10)): "not an ELF file",
        bzimage_of(good[:-20] + good[-8:]): "gzip payload",
    }
    for data, words in cases.items():
        with pytest.raises(bzimage.BzImageError, match=words):
            bzimage.extract(data)


def test_make_vmlinux_writes_the_elf_and_says_how_to_load_it(elves, tmp_path):
    elf, _ = elves
    kernel = tmp_path / "vmlinuz-test"
    kernel.write_bytes(bzimage_of(compress("xz", elf + RELOCS)))
    proc = make("vmlinux", f"KERNEL={kernel}", f"B={tmp_path}")
    out = tmp_path / "vmlinux-test.elf"
    assert out.read_bytes() == elf
    assert "xz-compressed" in proc.stdout and f"SYMS={out}" in proc.stdout, proc.stdout
    bad = make("vmlinux", "KERNEL=/etc/hostname", f"B={tmp_path}", check=False)
    assert bad.returncode != 0
    assert bad.stderr.splitlines()[0] == "bootlab: KERNEL=/etc/hostname: not a Linux " \
                                         "bzImage (no \"HdrS\" at 0x202)", bad.stderr
