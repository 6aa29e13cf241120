#!/usr/bin/python3
"""ownimage.py: check the IMAGE=, KERNEL= and SYMS= of `make debug` (and
run, qemu-gdb, gdb) before QEMU or GDB starts, and print the linear address
where GDB stops.

  ownimage.py [--image FILE | --kernel FILE] [--syms 'FILE[@OFFSET] ...']

On success: the stop address on stdout (0x7c00 for a disk, where the BIOS
enters its boot sector; the kernel's entry for a kernel) and one line on
stderr saying what the file is. On bad input: one line on stderr, exit
status 1, so make stops before any emulator or debugger starts. An empty
argument counts as not given (make passes IMAGE= and KERNEL= as they are).
"""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kernelfmt  # noqa: E402

# The PC's, not bootlab's (include/bootlab.h names the same values; reading
# it would need cpp, and IMAGE=/KERNEL= users need not have a compiler).
SECTOR = 512
BOOT_ADDR = 0x7c00                  # every PC BIOS loads sector 0 here
SIGNATURE_OFF = kernelfmt.BOOT_SIGNATURE_OFF
SIGNATURE = kernelfmt.BOOT_SIGNATURE  # what the BIOS checks before it jumps (0xaa55 LE)
# make splits words on blanks, the shell treats quotes and $, QEMU's -drive
# takes ',' as a separator and "name:" as a protocol: allow none of them.
SAFE_PATH = re.compile(r"^[\w./+-]+$")
# Formats people may pass as a disk by mistake (magic at offset 0).
NOT_RAW = {b"QFI\xfb": "a qcow2 image (convert it: qemu-img convert -O raw IN OUT)",
           b"\x7fELF": "an ELF file (a kernel? KERNEL=)"}
ISO9660 = (0x8001, b"CD001")        # ECMA-119 volume descriptor at sector 16
IMAGE_HEAD = 0x8800                 # enough of a disk for the checks above


class Bad(Exception):
    """Bad input: one line for the learner."""


def read(var, path, limit=None):
    """(first `limit` bytes or all, size) of a file given as VAR=path, or Bad
    with the reason."""
    if not SAFE_PATH.match(path):
        raise Bad("%s=%s: make and QEMU cannot pass this path safely (use letters, digits "
                  "and . _ - + / only; a symlink helps: ln -s '%s' /tmp/x)" % (var, path, path))
    p = Path(path)
    if p.is_dir():
        raise Bad("%s=%s is a directory, not a file" % (var, path))
    try:
        with p.open("rb") as f:
            data = f.read(limit)
            size = f.seek(0, 2)
    except OSError as e:
        raise Bad("%s=%s: %s" % (var, path, e.strerror.lower())) from None
    if not size:
        raise Bad("%s=%s is empty (0 bytes)" % (var, path))
    return data, size


def check_image(path):
    data, size = read("IMAGE", path, IMAGE_HEAD)
    if size < SECTOR:
        raise Bad("IMAGE=%s has %d bytes, less than one %d-byte sector: truncated? The "
                  "BIOS loads the whole first sector to 0x7c00" % (path, size, SECTOR))
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
    data, _ = read("KERNEL", path)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default="")
    ap.add_argument("--kernel", default="")
    ap.add_argument("--syms", default="")
    args = ap.parse_args()
    try:
        if args.image and args.kernel:
            raise Bad("IMAGE= and KERNEL= together: give one, a disk image (IMAGE=) or a "
                      "kernel for QEMU's -kernel (KERNEL=)")
        check_syms(args.syms)
        if args.kernel:
            address = check_kernel(args.kernel)
        elif args.image:
            address = check_image(args.image)
        else:
            address = BOOT_ADDR         # SYMS= alone: the lab's own image
    except Bad as e:
        print("bootlab: %s" % e, file=sys.stderr)
        return 1
    print("0x%x" % address)
    return 0


if __name__ == "__main__":
    sys.exit(main())
