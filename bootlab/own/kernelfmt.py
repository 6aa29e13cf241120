"""kernelfmt.py: what QEMU 7.2's -kernel makes of a file, and where the
kernel gets control. Used by check.py (make debug KERNEL=...).

QEMU's x86 loader (hw/i386/x86.c, multiboot.c) tries, in this order:
  1. a Linux boot protocol header ("HdrS" at 0x202): a bzImage;
  2. a Multiboot (version 1) header in the first 8192 bytes: an ELF32
     kernel, or any file whose header carries load/entry addresses;
  3. an ELF with a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY).
Anything else it refuses ("invalid kernel header", "Error loading
uncompressed kernel without PVH ELF Note"); so does entry() here, with a
sentence that says why.
"""
import struct


class Refused(Exception):
    """A file QEMU's -kernel cannot boot; the message says why, in one line."""


# ---- Linux boot protocol (Documentation/arch/x86/boot.rst) -----------------
LINUX_MAGIC_OFF = 0x202            # "HdrS"
LINUX_MAGIC = b"HdrS"
LINUX_VERSION_OFF = 0x206          # protocol version, e.g. 0x020f = 2.15
LINUX_SETUP_SECTS_OFF = 0x1f1      # 0 means 4 (old kernels)
LINUX_LOADFLAGS_OFF = 0x211
LINUX_CODE32_START_OFF = 0x214
LOADED_HIGH = 0x01                 # loadflags: protected-mode code at 1 MiB
SECTOR = 512
# Where QEMU puts the real-mode setup code (hw/i386/x86.c): 0x10000 for
# protocol >= 2.00 with LOADED_HIGH, else the traditional 0x90000. Its option
# ROM then jumps to segment (setup + 0x200) / 16, offset 0: the jump
# instruction at file offset 0x200.
SETUP_HIGH, SETUP_LOW = 0x10000, 0x90000
SETUP_ENTRY_OFF = 0x200
ZIMAGE_CODE32 = 0x10000            # a kernel without LOADED_HIGH runs its 32-bit code here

# ---- Multiboot version 1 (Multiboot Specification 0.6.96, 3.1) ------------
MB_MAGIC = 0x1badb002
MB_SEARCH = 8192 - 48              # QEMU's search limit in multiboot.c
MB_ADDRESS_VALID = 1 << 16         # the "a.out kludge": header has addresses
MB2_MAGIC = 0xe85250d6             # Multiboot2 (its own spec, 3.1.1)
MB2_SEARCH = 32768

# ---- ELF (System V ABI; Xen's public/elfnote.h for PVH) --------------------
ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
EM_386, EM_X86_64 = 3, 62
PT_LOAD, PT_NOTE = 1, 4
PF_X = 1
XEN_ELFNOTE_PHYS32_ENTRY = 18

# ---- A PC boot sector, for the hint when a disk image is given as KERNEL= ----
BOOT_SIGNATURE_OFF, BOOT_SIGNATURE = 510, b"\x55\xaa"
# Other files people give as KERNEL= by mistake, by their magic: an ISO 9660
# image (ECMA-119: "CD001" in the volume descriptor at sector 16 of 2048
# bytes), a qcow2 disk, a Debian package (an ar archive).
ISO9660_OFF, ISO9660_MAGIC = 0x8001, b"CD001"
QCOW2_MAGIC = b"QFI\xfb"
AR_MAGIC = b"!<arch>\n"


def _u32(data, off):
    return struct.unpack_from("<I", data, off)[0]


def _linux(data):
    version = struct.unpack_from("<H", data, LINUX_VERSION_OFF)[0]
    setup_sects = data[LINUX_SETUP_SECTS_OFF] or 4
    if (setup_sects + 1) * SECTOR > len(data):
        raise Refused("a Linux boot header says %d setup sectors, but the file has only "
                      "%d bytes: truncated?" % (setup_sects, len(data)))
    high = version >= 0x200 and data[LINUX_LOADFLAGS_OFF] & LOADED_HIGH
    linear = (SETUP_HIGH if high else SETUP_LOW) + SETUP_ENTRY_OFF
    code32 = _u32(data, LINUX_CODE32_START_OFF) if high else ZIMAGE_CODE32
    return linear, ("Linux %s (boot protocol %d.%02d); QEMU enters its real-mode setup "
                    "code at %04x:0000 (linear 0x%x); its 32-bit code starts at 0x%x"
                    % ("bzImage" if high else "zImage", version >> 8, version & 0xff,
                       linear >> 4, linear, code32))


def _find(data, magic, limit, step, valid):
    for off in range(0, min(limit, len(data) - 12), step):
        if _u32(data, off) == magic and valid(off):
            return off
    return None


def _elf(data):
    """(class, machine, entry, [program headers as dicts]) of an ELF file."""
    cls = data[4]
    if cls == ELFCLASS32:
        entry, phoff = struct.unpack_from("<II", data, 24)
        phentsize, phnum = struct.unpack_from("<HH", data, 42)
        names, fmt = "type offset vaddr paddr filesz memsz flags", "<IIIIIII"
    elif cls == ELFCLASS64:
        entry, phoff = struct.unpack_from("<QQ", data, 24)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        names, fmt = "type flags offset vaddr paddr filesz memsz", "<IIQQQQQ"
    else:
        raise Refused("an ELF file of unknown class %d" % cls)
    machine = struct.unpack_from("<H", data, 18)[0]
    phdrs = [dict(zip(names.split(), struct.unpack_from(fmt, data, phoff + i * phentsize)))
             for i in range(phnum)]
    return cls, machine, entry, phdrs


def _physical_entry(entry, phdrs):
    """QEMU's ELF loader (include/hw/elf_ops.h) turns a virtual e_entry into
    the physical address of the executable segment that holds it."""
    for ph in phdrs:
        if (ph["type"] == PT_LOAD and ph["flags"] & PF_X and ph["vaddr"] != ph["paddr"]
                and ph["vaddr"] <= entry < ph["vaddr"] + ph["filesz"]):
            return entry - ph["vaddr"] + ph["paddr"]
    return entry


def _multiboot(data, off):
    flags = _u32(data, off + 4)
    if flags & MB_ADDRESS_VALID:
        header_addr, load_addr, _, _, entry = struct.unpack_from("<5I", data, off + 12)
        if header_addr < load_addr or header_addr - load_addr > off:
            raise Refused("its Multiboot header's header_addr 0x%x and load_addr 0x%x do "
                          "not fit its place in the file (offset 0x%x)"
                          % (header_addr, load_addr, off))
        return entry, "Multiboot kernel with header addresses (the a.out kludge); " \
                      "entry_addr 0x%x" % entry
    if data[:4] != ELF_MAGIC:
        raise Refused("a Multiboot header without load addresses (flags bit 16), and not "
                      "an ELF file: QEMU cannot tell where to load it")
    cls, machine, entry, phdrs = _elf(data)
    if cls == ELFCLASS64 or machine == EM_X86_64:
        raise Refused("a 64-bit ELF: QEMU's Multiboot loader takes only ELF32 (\"Cannot "
                      "load x86-64 image\"); link it with ld -m elf_i386, or objcopy "
                      "-O elf32-i386, or give the header load addresses (flags bit 16)")
    if machine != EM_386:
        raise Refused("an ELF32 for machine %d, not i386" % machine)
    physical = _physical_entry(entry, phdrs)
    where = "e_entry" if physical == entry else \
        "e_entry 0x%x is virtual; QEMU jumps to its physical address" % entry
    return physical, "Multiboot kernel (ELF32); entry point 0x%x (%s)" \
        % (physical, where)


def _pvh(data):
    """(entry, description) from a PVH entry note, or None."""
    _, _, _, phdrs = _elf(data)
    for ph in phdrs:
        if ph["type"] != PT_NOTE:
            continue
        off, end = ph["offset"], ph["offset"] + ph["filesz"]
        while off + 12 <= end:
            namesz, descsz, kind = struct.unpack_from("<III", data, off)
            name = data[off + 12:off + 12 + namesz]
            desc = off + 12 + (namesz + 3) // 4 * 4
            if name.rstrip(b"\0") == b"Xen" and kind == XEN_ELFNOTE_PHYS32_ENTRY:
                entry = int.from_bytes(data[desc:desc + min(descsz, 8)], "little")
                return entry, "ELF with a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); " \
                              "entry 0x%x, in 32-bit protected mode" % entry
            off = desc + (descsz + 3) // 4 * 4
    return None


def entry(data):
    """(linear address where the kernel gets control, one-line description)
    of a file's bytes, in QEMU's order; Refused if QEMU would refuse it."""
    try:
        return _entry(data)
    except (struct.error, IndexError, OverflowError, ValueError):
        # A header field pointing outside the file (or absurdly far).
        raise Refused("the file ends inside its own headers, or a header points outside "
                      "it: truncated or corrupt?") from None


def _entry(data):
    if data[LINUX_MAGIC_OFF:LINUX_MAGIC_OFF + 4] == LINUX_MAGIC:
        return _linux(data)
    mb = _find(data, MB_MAGIC, MB_SEARCH, 4,
               lambda off: (MB_MAGIC + sum(struct.unpack_from("<II", data, off + 4)))
               & 0xffffffff == 0)
    if mb is not None:
        return _multiboot(data, mb)
    is_elf = data[:4] == ELF_MAGIC
    if is_elf and (found := _pvh(data)):
        return found
    if _find(data, MB2_MAGIC, MB2_SEARCH, 8, lambda off: True) is not None:
        raise Refused("a Multiboot2 kernel: QEMU 7.2's -kernel speaks only Multiboot "
                      "version 1; boot it from a disk image with GRUB (IMAGE=)")
    if is_elf:
        raise Refused("an ELF%d without a Multiboot header or a PVH entry note: QEMU's "
                      "-kernel cannot boot it (it takes Multiboot version 1, a Linux "
                      "bzImage, or an ELF with a PVH note)" % (64 if data[4] == ELFCLASS64 else 32))
    hint = _misplaced(data)
    raise Refused("not a kernel QEMU's -kernel can boot: no Linux boot header (\"HdrS\" "
                  "at 0x202), no Multiboot header in its first 8192 bytes, not an ELF%s"
                  % hint)


def _misplaced(data):
    """'; it is ...: give ...' for a file that is no kernel but something
    people pass as one, or ''."""
    if data[ISO9660_OFF:ISO9660_OFF + len(ISO9660_MAGIC)] == ISO9660_MAGIC:
        hybrid = data[BOOT_SIGNATURE_OFF:BOOT_SIGNATURE_OFF + 2] == BOOT_SIGNATURE
        return ("; it is an ISO 9660 CD image: %s" % (
            "it has an MBR (a hybrid ISO), so boot it as a disk: IMAGE=" if hybrid else
            "give the kernel inside it (e.g. its isolinux/ or boot/ vmlinuz) as KERNEL=, "
            "or boot the CD with QEMU_ARGS='-cdrom FILE -boot d'"))
    if data.startswith(QCOW2_MAGIC):
        return ("; it is a qcow2 disk image: convert it (qemu-img convert -O raw IN OUT) "
                "and give it as IMAGE=")
    if data.startswith(AR_MAGIC):
        return ("; it is an ar archive (a Debian package?): extract it (dpkg-deb -x) and "
                "give its boot/vmlinuz-* as KERNEL=")
    if data[BOOT_SIGNATURE_OFF:BOOT_SIGNATURE_OFF + 2] == BOOT_SIGNATURE:
        return "; it looks like a disk image: IMAGE="
    return ""
