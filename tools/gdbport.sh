#!/bin/sh
# gdbport.sh: print the TCP port for this user's QEMU gdbstub (derived from the
# user id, so users of one machine do not collide) or fail with a sentence if
# something on 127.0.0.1 already listens there.
set -eu
port=${GDBPORT:-$(( 26000 + $(id -u) % 5000 ))}
if /usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null; then
	echo "$port"
else
	echo "bootlab: port $port on 127.0.0.1 is busy (another make qemu-gdb?); stop it or pick one: make qemu-gdb GDBPORT=N" >&2
	exit 1
fi
