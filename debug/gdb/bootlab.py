# bootlab.py: load the bootlab GDB extension.
#
#   (gdb) source debug/gdb/bootlab.py
#   (gdb) target remote | exec qemu-system-x86_64 -S -gdb stdio -display none ...
#   (gdb) help bl
#
# Works with any x86 guest of qemu-system-x86_64: it reads the CPU state, never
# this project's symbols or selectors. Each topic lives in its own module under
# bootlab/; this file only puts that package on Python's path and imports it.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import gdb  # noqa: E402

try:
    import capstone  # noqa: F401
    import gdb.disassembler  # noqa: F401  (new in GDB 13)
except ImportError as e:
    raise gdb.GdbError("bootlab: needs GDB 13 and python3-capstone (%s)" % e)

import bootlab  # noqa: E402

bootlab.load()
