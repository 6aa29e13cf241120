#!/bin/sh
# qemu-log.sh [--reboot] [BUILD_DIR]: boot BUILD_DIR/bootlab.img (default
# build/) headless with QEMU's interrupt and reset log (-d int,cpu_reset) in
# BUILD_DIR/qemu-int.log, for the bug hunts (lab/README.md), and count what
# it holds. --reboot lets the guest reboot (no -no-reboot) for 1 second.
# bootlab/qemu/intlog.py does the work, on the lab's QEMU command line
# (bootlab/qemu/cmdline.py builds it, from configs/qemu.args). Each
# exception in the log is a "check_exception" line followed by its "v=" line:
#   grep -A1 check_exception build/qemu-int.log
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
PYTHONPATH=$root exec "${PYTHON:-/usr/bin/python3}" -m bootlab.qemu.intlog "$@"
