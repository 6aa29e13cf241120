# lab.gdb: what `make debug` and `make gdb` run in GDB before the prompt.
# Passed explicitly with -x, so GDB's auto-load safe-path never matters.
# The Makefile adds the `target remote` line and the stop at 0x7c00.
set pagination off
set confirm off
set history save on
set history filename build/.gdb_history

# The bootlab extension: mode tracking, disassembly in the CPU's own mode,
# and the `bl` commands (help bl).
source debug/gdb/bootlab.py

# One symbol file per CPU mode. add-symbol-file, not `file`: `file` on a
# 32-bit ELF would fix GDB's architecture to i386 and the 64-bit target
# description QEMU sends would then be refused.
add-symbol-file build/boot16.elf
add-symbol-file build/boot32.elf
add-symbol-file build/kernel.elf

# On quit, end the guest instead of detaching from it: QEMU started over the
# pipe then exits at once (after a detach it lingers for seconds).
define hook-quit
  python
if gdb.selected_inferior().pid:
    gdb.execute("kill")
  end
end
