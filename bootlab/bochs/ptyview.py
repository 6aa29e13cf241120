#!/usr/bin/python3
"""ptyview.py /dev/pts/N: show the guest screen that Bochs' term display
draws on its own pseudo-terminal (Bochs prints: Bochs connected to screen
"/dev/pts/N"). Run it in a terminal of at least 80x25; Ctrl-C to leave.
Bochs' output reaches us as input on the pty's other end, so the line
discipline is made raw first (no echo, no newline translation)."""

import os
import sys
import termios
import tty


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    try:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:             # Bochs has exited
                break
            if not data:
                break
            os.write(sys.stdout.fileno(), data)
    except KeyboardInterrupt:
        pass
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
