#!/bin/sh
# qemu-log.sh [BUILD_DIR]: boot BUILD_DIR/bootlab.img (default build/) headless
# with QEMU's interrupt and reset log, for the bug hunts (lab/README.md).
#
#   -d int,cpu_reset   log every interrupt and exception (vector v=, error
#                      code e=, CS:IP, CR2 for #PF, all registers) and every
#                      CPU reset, to the file named by -D
#   no -no-shutdown    unlike configs/qemu.args otherwise, so that a triple
#                      fault (-no-reboot turns it into a shutdown) ends QEMU
#                      instead of leaving it paused; --reboot also drops
#                      -no-reboot, to watch a reboot loop for 1 second
# Each exception is a "check_exception" line followed by its "v=" line:
#   grep -A1 check_exception build/qemu-int.log
set -eu
drop=-no-shutdown limit=10
[ "${1:-}" = --reboot ] && { drop='-no-shutdown\|-no-reboot'; limit=1; shift; }
b=${1:-build}
log=$b/qemu-int.log
machine=$(sed -e 's/#.*//' -e "/$drop/d" "$(dirname "$0")/../configs/qemu.args")
rm -f "$log"
# shellcheck disable=SC2086 # one option per word
timeout "$limit" qemu-system-x86_64 $machine \
	-drive "file=$b/bootlab.img,format=raw,if=ide,snapshot=on" -display none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -debugcon "file:$b/debugcon.log" \
	-d int,cpu_reset -D "$log" && status=0 || status=$?
echo "qemu-log: QEMU ended with status $status (0 = the guest shut down, e.g. a triple fault; 33 = kernel passed; 35 = failed; 124 = still running after ${limit} s)"
echo "qemu-log: $(grep -c '^CPU Reset' "$log") CPU resets, $(grep -c check_exception "$log") exceptions, $(grep -c 'Triple fault' "$log") triple faults in $log"
