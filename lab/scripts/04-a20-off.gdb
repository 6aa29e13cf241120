# Exercise 4: GDB commands that turn A20 off before stage 2 tests it and end
# stopped at a20_enabled (lab/04-a20.md, step 5). They run as if typed at the
# (gdb) prompt of `make debug`, stopped at 0x7c00.
