# lab.gdb: what `make debug` and `make gdb` run in GDB before the prompt.
# Passed explicitly with -x, so GDB's auto-load safe-path never matters.
# The Makefile adds the symbol files (of its build directory), the `target
# remote` line and the stop at 0x7c00.
set pagination off
set confirm off

# The bootlab extension: mode tracking, disassembly in the CPU's own mode,
# and the `bl` commands (help bl).
source debug/gdb/bootlab.py

# On quit, end the guest instead of detaching from it: QEMU started over the
# pipe then exits at once (after a detach it lingers for seconds).
define hook-quit
  python
if gdb.selected_inferior().pid:
    gdb.execute("kill")
  end
end
