# Exercise 3: GDB commands that stop on the `int 0x13` instruction that reads
# the kernel (lab/03-disk-loading.md, challenge). They run as if typed at the
# (gdb) prompt of `make debug`, stopped at 0x7c00.
