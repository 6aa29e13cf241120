# bootlab.py: load the bootlab GDB extension.
#
#   (gdb) source debug/gdb/bootlab.py
#   (gdb) target remote 127.0.0.1:PORT      (a QEMU started with -S and a gdbstub)
#   (gdb) help bl
#
# Works with any x86 guest of qemu-system-x86_64: it reads the CPU state, never
# this project's symbols or selectors. The extension is the package
# bootlab.gdbext in the checkout's root; GDB's Python finds a package only
# on sys.path, so this loader puts the checkout there (the one place that
# does) and imports it.
import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _root not in sys.path:
    sys.path.insert(0, _root)

import gdb  # noqa: E402

try:
    import gdb.disassembler  # noqa: F401  (new in GDB 13)
    import bootlab.x86.decode  # noqa: F401,E402  (needs python3-capstone)
except ImportError as e:
    raise gdb.GdbError("bootlab: needs GDB 13 and python3-capstone (%s)" % e)

import bootlab.gdbext  # noqa: E402

bootlab.gdbext.load()
