#!/bin/bash
# mirror.sh [--probe]: the Debian mirror this machine's apt uses for
# bookworm, the one `make check-fresh` builds its fresh system from: the URI of
# the first enabled `deb` entry with suite bookworm, in the order apt reads its
# sources (sources.list, then sources.list.d/ by name; classic one-line .list
# files and deb822 .sources files). FRESH_MIRROR=URI overrides it.
# --probe: also fetch the mirror's dists/bookworm/Release (bounded) and fail
# with one line when it does not answer (.ci/run skips check-fresh then).
set -euo pipefail
SUITE=bookworm
PROBE_SECONDS=20
PYTHON=/usr/bin/python3

# One-line entries: deb [options] URI SUITE COMPONENT...
from_list() {
	awk -v suite="$SUITE" '
	{ sub(/#.*/, "") }
	$1 == "deb" {
		i = 2
		if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
		if ($(i + 1) == suite) { print $i; exit }
	}' "$1"
}

# deb822 stanzas: Types/URIs/Suites/Enabled fields, blank lines between
# stanzas, continuation lines start with a space.
from_sources() {
	awk -v suite="$SUITE" '
	function flush() {
		if (!found && (" " f["types"] " ") ~ / deb / && tolower(f["enabled"]) !~ /no/ &&
		    (" " f["suites"] " ") ~ (" " suite " ")) {
			split(f["uris"], uri, " "); print uri[1]; found = 1
		}
		delete f
	}
	/^#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ { f[key] = f[key] " " $0; next }
	{ key = tolower(substr($0, 1, index($0, ":") - 1)); f[key] = substr($0, index($0, ":") + 1) }
	END { flush() }' "$1"
}

find_mirror() {
	local file uri
	for file in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
		[ -f "$file" ] || continue
		case $file in
		*.list) uri=$(from_list "$file") ;;
		*.sources) uri=$(from_sources "$file") ;;
		*) continue ;;    # apt ignores other names (*.disabled, *.save)
		esac
		# debootstrap fetches over http(s), ftp or from a file: tree, not
		# through apt's other transports (tor+, mirror+, cdrom:).
		case $uri in http://* | https://* | ftp://* | file:/*) echo "${uri%/}"; return 0 ;; esac
	done
	return 1
}

mirror=${FRESH_MIRROR:-}
if [ -z "$mirror" ] && ! mirror=$(find_mirror); then
	echo "no enabled '$SUITE' deb entry in /etc/apt/sources.list{,.d} (set FRESH_MIRROR=URI)" >&2
	exit 1
fi
if [ "${1:-}" = --probe ]; then
	[ -x "$PYTHON" ] || { echo "cannot probe $mirror: $PYTHON is not installed" >&2; exit 1; }
	# urllib follows http_proxy/https_proxy as debootstrap's wget does. The
	# outer timeout also bounds the name lookup, which urlopen's does not.
	if ! why=$(timeout -k 5 "$PROBE_SECONDS" "$PYTHON" -c '
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read(1)
except Exception as e:
    sys.exit(str(getattr(e, "reason", e)))' "$mirror/dists/$SUITE/Release" "$PROBE_SECONDS" 2>&1); then
		echo "$mirror does not answer (${why:-no answer within ${PROBE_SECONDS} s})" >&2
		exit 1
	fi
fi
echo "$mirror"
