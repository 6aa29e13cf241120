"""The kernel ELF inside a Linux bzImage, for GDB: find the compressed
payload, decompress it, write the ELF.

A bzImage is real-mode setup code, then the protected-mode decompressor
with the kernel (vmlinux, made smaller by `objcopy -R .comment -S`, so
without its symbol table) compressed inside it. Boot protocol 2.08 added
two setup-header fields that say where (Documentation/arch/x86/boot.rst):
payload_offset, from the start of the protected-mode code (the file offset
(setup_sects + 1) * 512), and payload_length. The payload is one stream of
gzip, bzip2, lzma, xz, lzo, lz4 or zstd, told apart by its magic bytes
(the kernel's own lib/decompress.c table); all but gzip end with 4 bytes
the build appends, the size of the decompressed data (gzip's own trailer
holds the same). The decompressed data is the ELF, and, on a relocatable
kernel, its relocation table after it (arch/x86/boot/compressed/Makefile:
vmlinux.bin.all), which is cut off here.

Python's own modules decompress gzip (zlib), bzip2 (bz2), lzma and xz
(lzma); lz4 and zstd need Debian's `lz4` and `zstd` programs, lzo `lzop`.

    python3 -m bootlab.own.bzimage BZIMAGE [OUT.elf]
"""
import bz2
import lzma
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from . import kernelfmt

# Setup header fields (boot.rst, "The Real-Mode Kernel Header").
PAYLOAD_OFFSET_OFF = 0x248
PAYLOAD_LENGTH_OFF = 0x24c
PAYLOAD_PROTOCOL = 0x208              # the first boot protocol with the two fields
SIZE_TRAILER = 4                      # the decompressed size, little-endian, at the end
TOOL_TIMEOUT = 120                    # seconds for lz4/zstd/lzop on a large kernel

# (name, magic) in lib/decompress.c's order.
MAGICS = [("gzip", b"\x1f\x8b"), ("bzip2", b"BZh"), ("lzma", b"\x5d\x00\x00"),
          ("xz", b"\xfd7zXZ\x00"), ("lzo", b"\x89LZO\x00"), ("lz4", b"\x02\x21\x4c\x18"),
          ("zstd", b"\x28\xb5\x2f\xfd")]
TOOLS = {"lz4": (["lz4", "-d", "-c"], "lz4"), "zstd": (["zstd", "-d", "-c", "-q"], "zstd"),
         "lzo": (["lzop", "-d", "-c"], "lzop")}

# ELF (System V ABI gABI): what is needed to find the file's end and its symbols.
ELF_MAGIC = kernelfmt.ELF_MAGIC
SHT_SYMTAB = 2


class BzImageError(Exception):
    """One line: why no ELF came out of this file."""


def payload(data):
    """(compression name, compressed bytes) of a bzImage's bytes."""
    if data[kernelfmt.LINUX_MAGIC_OFF:kernelfmt.LINUX_MAGIC_OFF + 4] != kernelfmt.LINUX_MAGIC:
        raise BzImageError("not a Linux bzImage (no \"HdrS\" at 0x202)")
    version, = struct.unpack_from("<H", data, kernelfmt.LINUX_VERSION_OFF)
    if version < PAYLOAD_PROTOCOL:
        raise BzImageError("boot protocol %d.%02d: the payload's place is in the setup header "
                           "only from 2.08 on" % (version >> 8, version & 0xff))
    setup = ((data[kernelfmt.LINUX_SETUP_SECTS_OFF] or 4) + 1) * kernelfmt.SECTOR
    offset, length = struct.unpack_from("<II", data, PAYLOAD_OFFSET_OFF)
    start = setup + offset
    if not length or start + length > len(data):
        raise BzImageError("the setup header's payload (offset 0x%x, %d bytes, after %d bytes "
                           "of setup) lies outside the file's %d bytes: truncated?"
                           % (offset, length, setup, len(data)))
    blob = data[start:start + length]
    return compression(blob), blob


def compression(blob):
    for name, magic in MAGICS:
        if blob.startswith(magic):
            return name
    raise BzImageError("the payload starts with %s, which is none of %s"
                       % (blob[:6].hex(" "), ", ".join(n for n, _ in MAGICS)))


def decompress(name, blob):
    """The decompressed payload; BzImageError with what is missing."""
    size, = struct.unpack_from("<I", blob, len(blob) - SIZE_TRAILER)
    body = blob if name == "gzip" else blob[:-SIZE_TRAILER]
    try:
        if name == "gzip":
            out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
        elif name == "bzip2":
            out = bz2.BZ2Decompressor().decompress(body)
        elif name in ("xz", "lzma"):
            fmt = lzma.FORMAT_XZ if name == "xz" else lzma.FORMAT_ALONE
            out = lzma.LZMADecompressor(format=fmt).decompress(body)
        else:
            out = _tool(name, body)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as e:
        raise BzImageError("%s payload: %s" % (name, e)) from None
    if len(out) & 0xffffffff != size:
        raise BzImageError("%s payload: decompressed %d bytes, the image says %d"
                           % (name, len(out), size))
    return out


def _tool(name, body):
    argv, package = TOOLS[name]
    if not shutil.which(argv[0]):
        raise BzImageError("a %s payload needs the %s program (apt-get install %s); "
                           "Python has no %s module" % (name, argv[0], package, name))
    try:
        proc = subprocess.run(argv, input=body, capture_output=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BzImageError("%s took more than %d s" % (argv[0], TOOL_TIMEOUT)) from None
    if proc.returncode:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BzImageError("%s failed%s" % (argv[0], ": " + said[-1] if said else ""))
    return proc.stdout


def _elf_header(elf):
    """(class 32/64, e_entry, e_shoff, e_shentsize, e_shnum, e_phoff, e_phentsize, e_phnum)."""
    if not elf.startswith(ELF_MAGIC):
        raise BzImageError("the decompressed payload is not an ELF file (starts with %s)"
                           % elf[:4].hex(" "))
    if elf[4] == kernelfmt.ELFCLASS64:
        entry, phoff, shoff = struct.unpack_from("<QQQ", elf, 24)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", elf, 54)
    else:
        entry, phoff, shoff = struct.unpack_from("<III", elf, 24)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", elf, 42)
    return elf[4], entry, shoff, shentsize, shnum, phoff, phentsize, phnum


def trim_elf(data):
    """The ELF at the start of data, without what follows it (the relocations
    a relocatable kernel appends): up to the end of its last section, program
    header or section header table."""
    try:
        cls, _, shoff, shentsize, shnum, phoff, phentsize, phnum = _elf_header(data)
        end = max(shoff + shentsize * shnum, phoff + phentsize * phnum)
        for i in range(shnum):
            if cls == kernelfmt.ELFCLASS64:
                kind, off, size = struct.unpack_from("<4xI16xQQ", data, shoff + i * shentsize)
            else:
                kind, off, size = struct.unpack_from("<4xI8xII", data, shoff + i * shentsize)
            if kind != 8:                       # SHT_NOBITS (.bss) takes no room in the file
                end = max(end, off + size)
    except struct.error:
        raise BzImageError("the decompressed ELF's headers point past its end") from None
    if end > len(data):
        raise BzImageError("the decompressed ELF is truncated (%d bytes, its headers say %d)"
                           % (len(data), end))
    return data[:end]


def has_symbols(elf):
    cls, _, shoff, shentsize, shnum, _, _, _ = _elf_header(elf)
    for i in range(shnum):
        kind, = struct.unpack_from("<I", elf, shoff + i * shentsize + 4)
        if kind == SHT_SYMTAB:
            return True
    return False


def entry(elf):
    return _elf_header(elf)[1]


class Extracted:
    def __init__(self, compression, elf):
        self.compression, self.elf = compression, elf
        self.symbols = has_symbols(elf)
        self.entry = entry(elf)

    def notes(self, kernel_path):
        """What a user needs to know, in lines."""
        out = ["%s-compressed, %d bytes of ELF, entry point 0x%x"
               % (self.compression, len(self.elf), self.entry)]
        if not self.symbols:
            out.append("it has no symbol table: the kernel build strips the copy it "
                       "compresses (objcopy -S), so GDB gets its sections and addresses "
                       "but no names. For names use the vmlinux of the kernel's build tree, "
                       "or on Debian the matching debug package (linux-image-VERSION-dbg: "
                       "/usr/lib/debug/boot/vmlinux-VERSION)%s" % _debian_hint(kernel_path))
        return out


def _debian_hint(path):
    name = Path(path).name
    if name.startswith("vmlinuz-"):
        version = name[len("vmlinuz-"):]
        return "; here: apt-get install linux-image-%s-dbg" % version
    return ""


def extract(data):
    """Extracted from a bzImage's bytes; BzImageError with why not."""
    name, blob = payload(data)
    return Extracted(name, trim_elf(decompress(name, blob)))


def default_output(kernel, build_dir):
    """BUILD/vmlinux-6.1.0-57-amd64.elf for .../vmlinuz-6.1.0-57-amd64,
    BUILD/vmlinux-NAME.elf for any other NAME."""
    name = Path(kernel).name
    return Path(build_dir) / ("vmlinux-%s.elf" % (name[len("vmlinuz-"):]
                                                  if name.startswith("vmlinuz-") else name))


def write(kernel, out):
    """Extract the ELF of the bzImage at path `kernel` into `out`; returns the Extracted."""
    data = Path(kernel).read_bytes()
    ex = extract(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp%d" % os.getpid())
    tmp.write_bytes(ex.elf)
    tmp.replace(out)
    return ex


def main(argv):
    if len(argv) not in (1, 2):
        print("usage: python3 -m bootlab.own.bzimage BZIMAGE [OUT.elf]", file=sys.stderr)
        return 2
    kernel = argv[0]
    out = Path(argv[1]) if len(argv) > 1 else default_output(kernel, "build")
    try:
        from .check import read, Bad
        read("KERNEL", kernel, 0)
        ex = write(kernel, out)
    except (BzImageError, OSError) as e:
        print("bootlab: KERNEL=%s: %s" % (kernel, e), file=sys.stderr)
        return 1
    except Exception as e:        # check.Bad and the like: one line still
        print("bootlab: %s" % e, file=sys.stderr)
        return 1
    for line in ex.notes(kernel):
        print("bootlab: %s" % line)
    print("bootlab: wrote %s; load it with SYMS=%s (make debug KERNEL=%s SYMS=%s)"
          % (out, out, kernel, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
