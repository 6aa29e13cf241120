# lab.gdb: what `make debug` and `make gdb` run in GDB before the prompt.
# Passed explicitly with -x, so GDB's auto-load safe-path never matters.
# bootlab.cli adds the symbol files (of its build directory), the `target
# remote` line and the stop at 0x7c00.
set pagination off
set confirm off

# QEMU listens before GDB starts (bootlab.session): a refused connection
# means QEMU is gone, so say so at once instead of retrying for 15 s.
set tcp auto-retry off

# The bootlab extension: mode tracking, disassembly in the CPU's own mode,
# and the `bl` commands (help bl).
source debug/gdb/bootlab.py

# On quit, end the guest instead of detaching from it (a detached QEMU
# lingers); quietly when QEMU is gone already.
define hook-quit
  python import bootlab.gdbext.scripting as s; s.end_session()
end
