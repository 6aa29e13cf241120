#!/usr/bin/python3
"""Check IMAGE=, KERNEL= and SYMS= before QEMU or GDB starts, and say where
GDB stops: 0x7c00 for a disk (where the BIOS enters its boot sector), the
kernel's entry for a kernel.

Every problem is a Bad exception with one line for the user. Files are
checked to be regular files before they are opened (a FIFO would block
the open, a device could be read forever) and read only as far as needed,
within a bound. Paths reach QEMU and GDB as arguments, never through a
shell, so blanks, quotes and other characters in them are fine.
"""
import os
import stat
import sys

from . import kernelfmt

SECTOR = 512
BOOT_ADDR = 0x7c00                  # every PC BIOS loads sector 0 here
SIGNATURE_OFF = kernelfmt.BOOT_SIGNATURE_OFF
SIGNATURE = kernelfmt.BOOT_SIGNATURE  # what the BIOS checks before it jumps (0xaa55 LE)
# Formats people may pass as a disk by mistake (magic at offset 0).
NOT_RAW = {b"QFI\xfb": "a qcow2 image (convert it: qemu-img convert -O raw IN OUT)",
           b"\x7fELF": "an ELF file (a kernel? KERNEL=)"}
ISO9660 = (0x8001, b"CD001")        # ECMA-119 volume descriptor at sector 16
IMAGE_HEAD = 0x8800                 # enough of a disk for the checks above
KERNEL_MAX = 512 << 20              # no kernel QEMU's -kernel boots is larger


class Bad(Exception):
    """Bad input: one line for the learner."""


def shown(text):
    """A user's value as a message shows it: as is, or quoted with escapes
    when it holds a newline or another unprintable character (one line)."""
    text = str(text)
    return text if text.isprintable() else repr(text)


def read(var, path, limit):
    """(the first `limit` bytes, size) of a regular file given as VAR=path,
    or Bad with the reason."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise Bad("%s=%s: %s" % (var, shown(path), (e.strerror or str(e)).lower())) from None
    if stat.S_ISDIR(st.st_mode):
        raise Bad("%s=%s is a directory, not a file" % (var, shown(path)))
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise Bad("%s=%s is %s: give a regular file" % (var, shown(path), kind))
    if not st.st_size:
        raise Bad("%s=%s is empty (0 bytes)" % (var, shown(path)))
    try:
        with open(path, "rb") as f:
            return f.read(limit), st.st_size
    except OSError as e:
        raise Bad("%s=%s: %s" % (var, shown(path), (e.strerror or str(e)).lower())) from None


def check_image(path):
    data, size = read("IMAGE", path, IMAGE_HEAD)
    if size < SECTOR:
        raise Bad("IMAGE=%s has %d bytes, less than one %d-byte sector: truncated? The "
                  "BIOS loads the whole first sector to 0x7c00" % (path, size, SECTOR))
    if data[kernelfmt.LINUX_MAGIC_OFF:kernelfmt.LINUX_MAGIC_OFF + 4] == kernelfmt.LINUX_MAGIC:
        # A bzImage keeps a boot signature from the days it booted from a
        # floppy; its "boot sector" now only prints that it cannot.
        raise Bad("IMAGE=%s is a Linux kernel (bzImage: \"HdrS\" at 0x202), not a disk "
                  "image: boot it with KERNEL=%s" % (path, path))
    if data[SIGNATURE_OFF:SIGNATURE_OFF + 2] != SIGNATURE:
        kind = NOT_RAW.get(data[:4])
        if data[ISO9660[0]:ISO9660[0] + len(ISO9660[1])] == ISO9660[1]:
            kind = "an ISO 9660 CD image without a hybrid MBR (bootlab boots IMAGE as a hard disk)"
        raise Bad("IMAGE=%s: no boot signature 55 aa at offset 510 (found %s), so the BIOS "
                  "will not boot it (\"not a bootable disk\") and 0x7c00 is never reached%s"
                  % (path, data[SIGNATURE_OFF:SIGNATURE_OFF + 2].hex(" "),
                     "; it is " + kind if kind else ""))
    sectors, rest = divmod(size, SECTOR)
    if rest:
        print("bootlab: warning: IMAGE=%s has %d bytes, not a whole number of %d-byte "
              "sectors (%d past the last whole one): truncated? Booting it anyway"
              % (path, size, SECTOR, rest), file=sys.stderr)
    print("bootlab: IMAGE=%s: a disk of %d sector%s with a boot signature; the BIOS enters "
          "it at 0000:7c00" % (path, sectors, "" if sectors == 1 else "s"), file=sys.stderr)
    return BOOT_ADDR


def check_kernel(path):
    data, size = read("KERNEL", path, KERNEL_MAX + 1)
    if size > KERNEL_MAX:
        raise Bad("KERNEL=%s has %d MiB: more than any kernel QEMU's -kernel boots "
                  "(a disk image? IMAGE=)" % (path, size >> 20))
    try:
        address, what = kernelfmt.entry(data)
    except kernelfmt.Refused as e:
        raise Bad("KERNEL=%s: %s" % (path, e)) from None
    print("bootlab: KERNEL=%s: %s" % (path, what), file=sys.stderr)
    return address


def check_syms(syms):
    for word in syms.split():
        path, _, offset = word.partition("@")
        data, _ = read("SYMS", path, len(kernelfmt.ELF_MAGIC))
        if data[:4] != kernelfmt.ELF_MAGIC:
            raise Bad("SYMS=%s is not an ELF file: GDB's add-symbol-file needs one (for a "
                      "flat binary, link an ELF and objcopy -O binary it)" % path)
        if offset:
            try:
                int(offset, 0)
            except ValueError:
                raise Bad("SYMS=%s: the offset after @ must be a number (FILE@0x7c00), "
                          "not '%s'" % (word, offset)) from None


def stop_address(image="", kernel="", syms=""):
    """Where GDB should stop; Bad for any problem. Prints what the file is."""
    if image and kernel:
        raise Bad("IMAGE= and KERNEL= together: give one, a disk image (IMAGE=) or a "
                  "kernel for QEMU's -kernel (KERNEL=)")
    check_syms(syms)
    if kernel:
        return check_kernel(kernel)
    if image:
        return check_image(image)
    return BOOT_ADDR            # SYMS= alone: the lab's own image


def is_elf(path):
    try:
        return read("KERNEL", path, 4)[0] == kernelfmt.ELF_MAGIC
    except Bad:
        return False
