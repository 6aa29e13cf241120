#!/bin/bash
# check-fresh.sh [BUILD_DIR]: `make check-fresh`. The README promises that on a
# fresh Debian 12, as root, `make debug` and `make check` install what they
# need and work. This checks that promise on a truly fresh system instead of
# on whatever this machine happens to have installed:
#   1. a minimal Debian 12 (debootstrap --variant=minbase), built once into a
#      tarball under ~/.cache/bootlab/fresh/ and unpacked afresh for each run;
#   2. a clone of this checkout's committed HEAD in its /root/bootlab;
#   3. inside (enter.sh: private mount and PID namespaces, chroot),
#      `apt-get install make` and nothing else, then `make debug` with GDB
#      commands piped in (it must stop at 0x7c00), then `make check`.
# Logs go to BUILD_DIR/check-fresh/, the packages the two commands installed
# to BUILD_DIR/check-fresh-packages.txt. Needs root (debootstrap, chroot,
# mounts) and the mirror of this machine's apt sources (mirror.sh). The
# scripts of this directory belong to setup.sh's `fresh` group
# (tests/test_dependencies.py checks their programs against it).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
FRESH=$(dirname "$(realpath "$0")")
BUILD=$(realpath -m "${1:-$ROOT/build}")
LOGS=$BUILD/check-fresh
PACKAGES=$BUILD/check-fresh-packages.txt
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/bootlab/fresh
PRISTINE=$CACHE/bookworm-minbase.tar
DEBS=$CACHE/archives
# Every step is bounded; together they stay well inside CI's 90 minutes (a
# whole run took 2m29s here the first time, 2m09s with the cache: README).
DEBOOTSTRAP_LIMIT=600
APT_LIMIT=300
DEBUG_LIMIT=900
CHECK_LIMIT=1800
# The GDB session `make debug` gets on its stdin; its output must show the
# stop at the boot sector's first instruction.
GDB_INPUT='info registers pc
kill
quit'
AT_7C00='boot_start \(\) at boot/boot\.asm|^(\(gdb\) )*pc +0x7c00 '

START=$(date +%s)
WORK=        # the throwaway tree of this run, removed on exit
STEP_PID=    # the running step (timeout's PID), stopped on a signal

say()  { echo "check-fresh: $*"; }
# One line saying what failed; the tail of the step's log under it.
fail() {
	echo "check-fresh: FAIL: $1" >&2
	if [ -n "${2:-}" ] && [ -s "$2" ]; then
		tail -n 25 "$2" | sed -e 's/^/  | /' -e '$a\' >&2    # $a\: end a last line that has no newline
	fi
	exit 1
}
elapsed() { local s=$(( $(date +%s) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# run_step NAME LIMIT LOG CMD...: CMD with its output in LOG, killed after
# LIMIT seconds. In the background so that a SIGINT/SIGTERM reaches our trap
# at once instead of after the step.
run_step() {
	local name=$1 limit=$2 log=$3 t0 status=0
	shift 3
	t0=$(date +%s)
	say "$name (at most ${limit} s, log: ${log#"$ROOT"/})"
	timeout -k 10 "$limit" "$@" > "$log" 2>&1 < /dev/null &
	STEP_PID=$!
	wait "$STEP_PID" || status=$?
	STEP_PID=
	case $status in
	0) say "$name: done in $(elapsed "$t0")" ;;
	124 | 137) fail "$name: timed out after ${limit} s; log: $log" "$log" ;;
	*) fail "$name failed (status $status); log: $log" "$log" ;;
	esac
}

# inside NAME LIMIT LOG COMMAND: COMMAND (sh) as root in the run's tree.
inside() {
	run_step "$1" "$2" "$3" unshare --mount --pid --fork --kill-child --propagation private \
		"$FRESH/enter.sh" "$WORK" "$DEBS" "$4"
}

preflight() {
	[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot and mounts): run it as root"
	local tool
	for tool in debootstrap unshare chroot timeout flock tar git; do
		command -v "$tool" > /dev/null || fail "$tool is not installed (make setup-fresh installs debootstrap)"
	done
	mkdir -p "$LOGS" "$DEBS"
	# One run at a time per cache: two would share the .deb cache, and with
	# it apt's lock on it.
	exec 9> "$CACHE/lock"
	flock -n 9 || fail "another make check-fresh is using $CACHE"
	rm -f "$LOGS"/* "$PACKAGES"
}

# The pristine system, built once. debootstrap mounts /proc and /sys in its
# target while it runs: in a namespace of its own, so that a debootstrap
# killed half-way leaves no mount behind on the host. The tarball appears
# only when complete, so an interrupted build is simply built again.
pristine() {
	[ -s "$PRISTINE" ] && { say "the fresh system: $PRISTINE (cached)"; return; }
	local mirror tree
	mirror=$("$FRESH/mirror.sh" 2>&1) || fail "no mirror to build from: $mirror"
	tree=$(mktemp -d "$CACHE/build.XXXXXX")
	chmod 755 "$tree"    # it becomes the fresh system's /: mktemp made it 0700
	WORK=$tree
	run_step "debootstrap --variant=minbase bookworm ($mirror)" "$DEBOOTSTRAP_LIMIT" "$LOGS/debootstrap.log" \
		unshare --mount --pid --fork --kill-child --propagation private \
		debootstrap --variant=minbase bookworm "$tree" "$mirror"
	# The .deb files debootstrap leaves would only be hidden by the cache mount.
	tar -C "$tree" --numeric-owner --exclude='./var/cache/apt/archives/*.deb' \
		-cf "$PRISTINE.tmp" . || fail "could not write $PRISTINE.tmp"
	mv "$PRISTINE.tmp" "$PRISTINE"
	remove_work
	say "the fresh system: $PRISTINE ($(du -h "$PRISTINE" | cut -f1), built once)"
}

# This run's tree: the pristine system unpacked into a throwaway directory on
# disk (/var/tmp: the tree grows to ~1 GB, too much for a small tmpfs /tmp), with
# the sources debootstrap writes, the host's resolver, and the clone.
unpack() {
	local mirror sha
	mirror=$("$FRESH/mirror.sh" 2>&1) || fail "no mirror: $mirror"
	WORK=$(mktemp -d /var/tmp/bootlab-fresh.XXXXXX)
	tar -C "$WORK" --numeric-owner -xf "$PRISTINE" || fail "could not unpack $PRISTINE into $WORK"
	echo "deb $mirror bookworm main" > "$WORK/etc/apt/sources.list"
	cp -L /etc/resolv.conf "$WORK/etc/resolv.conf"
	sha=$(git -C "$ROOT" rev-parse HEAD)
	[ -z "$(git -C "$ROOT" status --porcelain)" ] ||
		say "the working tree has uncommitted changes; check-fresh tests the committed HEAD ${sha:0:12}"
	git clone -q --no-hardlinks "$ROOT" "$WORK/root/bootlab" || fail "git clone of $ROOT failed"
	git -C "$WORK/root/bootlab" checkout -q --detach "$sha" || fail "could not check out $sha in the clone"
	say "testing HEAD ${sha:0:12}, cloned into the fresh system's /root/bootlab"
}

# The tree's installed packages ("ii": not those a killed dpkg left half
# done), read by the host's dpkg-query.
installed() {
	dpkg-query --admindir="$WORK/var/lib/dpkg" -W -f '${db:Status-Abbrev} ${Package}\n' |
		awk '$1 == "ii" { print $2 }' | sort
}

# added OLD NEW: the packages in list NEW that are not in list OLD, wrapped.
added() {
	local new
	new=$(comm -13 "$1" "$2")
	echo "$(echo "$new" | grep -c .) packages:"
	echo "$new" | tr '\n' ' ' | fmt -w 74 | sed 's/^/    /'
}

# What the two commands installed (also after a failure: how far they got).
packages_report() {
	[ -n "$WORK" ] && [ -s "$LOGS/before.txt" ] || return 0
	installed > "$LOGS/after.txt"
	comm -13 "$LOGS/before.txt" "$LOGS/after.txt" > "$PACKAGES"
	say "Debian packages installed by the two commands: ${PACKAGES#"$ROOT"/}"
	if [ -s "$LOGS/after-debug.txt" ]; then
		echo "  by make debug, $(added "$LOGS/before.txt" "$LOGS/after-debug.txt")"
		echo "  then by make check, $(added "$LOGS/after-debug.txt" "$LOGS/after.txt")"
	else
		echo "  $(added "$LOGS/before.txt" "$LOGS/after.txt")"
	fi
}

the_two_commands() {
	inside "apt-get install make (nothing else)" "$APT_LIMIT" "$LOGS/apt-make.log" \
		'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q make'
	installed > "$LOGS/before.txt"
	inside "make debug (GDB commands on stdin)" "$DEBUG_LIMIT" "$LOGS/debug.log" \
		"cd /root/bootlab && printf '%s\n' '$GDB_INPUT' | make debug"
	grep -Eq "$AT_7C00" "$LOGS/debug.log" ||
		fail "make debug did not show the stop at 0x7c00 (boot_start); log: $LOGS/debug.log" "$LOGS/debug.log"
	installed > "$LOGS/after-debug.txt"
	inside "make check" "$CHECK_LIMIT" "$LOGS/check.log" 'cd /root/bootlab && make check'
	say "make check: $(tail -n 1 "$LOGS/check.log")"
}

# The tree goes only once nothing is mounted below it any more (the
# namespaces are gone with their last process, and their mounts with them);
# --one-file-system is a second fence.
remove_work() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	if awk -v w="$WORK/" 'index($5 "/", w) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "check-fresh: something is still mounted under $WORK; not removing it" >&2
		return 1
	fi
	rm -rf --one-file-system "$WORK"
	WORK=
}

# On SIGINT/SIGTERM: stop the running step (timeout passes the signal on to
# unshare, whose --kill-child ends the whole namespace), bounded, by its PID.
stop_step() {
	[ -n "$STEP_PID" ] || return 0
	kill -TERM "$STEP_PID" 2> /dev/null || true
	local i
	for i in $(seq 50); do kill -0 "$STEP_PID" 2> /dev/null || break; sleep 0.2; done
	kill -KILL "$STEP_PID" 2> /dev/null || true
	wait "$STEP_PID" 2> /dev/null || true
	STEP_PID=
}
on_exit() {
	local status=$?
	trap - EXIT INT TERM
	stop_step
	packages_report || true
	remove_work || status=1
	say "total time $(elapsed "$START")"
	exit "$status"
}
trap on_exit EXIT
trap 'echo "check-fresh: interrupted" >&2; exit 130' INT
trap 'echo "check-fresh: terminated" >&2; exit 143' TERM

preflight
pristine
unpack
the_two_commands
say "PASS: make debug stopped at 0x7c00 and make check passed on a fresh Debian 12"
