# Exercise 10: GDB commands that stop as soon as row 1, column 0 of the screen
# gets its character (lab/10-vga.md, challenge). They run as if typed at the
# (gdb) prompt of `make debug`, stopped at 0x7c00.
