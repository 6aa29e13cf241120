#!/bin/bash
# enter.sh TREE DEBS COMMAND: run COMMAND (sh -c) as root in the Debian tree
# TREE, the way `make check-fresh` runs the README's commands. Started by
# check-fresh.sh (next to this script) as
#     unshare --mount --pid --fork --kill-child --propagation private enter.sh ...
# so this script is PID 1 of a new PID namespace with a private mount
# namespace of its own:
# - every mount below lives in that namespace only and disappears with it:
#   nothing shows on the host, and the host's /dev or /sys can never be
#   reached by the `rm -rf` that removes TREE afterwards;
# - the fresh /proc shows only the processes started here, so the tests'
#   emulator clean-up (tests/conftest.py) can neither see nor kill the host's;
# - when this script ends or is killed, the kernel kills everything left in
#   the namespace (a lingering QEMU, Bochs or tmux server included).
# DEBS (the host's cache of downloaded .deb files) is mounted on the tree's
# /var/cache/apt/archives so that repeated runs download nothing twice.
set -euo pipefail
tree=$1 debs=$2 command=$3

mount -t proc proc "$tree/proc"
# Read-only: programs inside may read the kernel's view, not change the host.
mount --bind /sys "$tree/sys"
mount -o remount,bind,ro "$tree/sys"
mount --bind /dev "$tree/dev"
# Bochs' term display and tmux need ptys: /dev/ptmx opens the devpts mounted
# at the pts/ next to it (Linux >= 4.7), here the host's, bound in too.
mount --bind /dev/pts "$tree/dev/pts"
# The host's /dev/shm is a mount of its own, not part of the /dev bind.
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$tree/dev/shm"
mount --bind "$debs" "$tree/var/cache/apt/archives"

# Not `exec`: this shell stays PID 1 and reaps the orphans (a daemonised
# tmux, a QEMU whose GDB is gone), as init does on a real system; a zombie
# emulator would still look alive to the tests' clean-up fixture. A
# login-like environment: no DISPLAY, no host PATH (no pyenv python3), but
# the TERM of the terminal we run in, as a shell on the fresh system would
# have it (Bochs' term display cannot start without one). printenv, not
# $TERM: bash sets TERM=dumb for itself when the environment has none.
term=$(printenv TERM || true)
status=0
chroot "$tree" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	${term:+TERM="$term"} /bin/sh -c "$command" || status=$?
exit "$status"
