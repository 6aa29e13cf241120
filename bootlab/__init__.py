"""bootlab: the lab's tools, one Python package.

Knowledge lives once, in plain Python that `python3` alone can import and
unit-test on recorded states; the debuggers and scripts are thin adapters:

  x86/      the architecture (Intel SDM names): CPU and paging mode, CS:IP and
            linear addresses, descriptors and gates, page walks, decoding an
            instruction in the mode the CPU is in and what it may change
  qemu/     QEMU: its command lines (and GDB's), `info registers` parsing,
            its logs
  bochs/    Bochs 2.7: parsers of its debugger's output, and the drivers of
            make run-bochs, debug-bochs, tour-bochs and crosscheck
  vga.py    the VGA text screen from its 4000 bytes
  project.py  this project: paths, include/bootlab.h, the boot path's milestones
  proc.py   running processes with a deadline and guaranteed cleanup
  session.py  QEMU paused with its gdbstub on loopback, and GDB attached
  gdbstub.py  GDB's remote protocol: packets, a raw client
  remote.py  the gdbstub as a debugger without GDB: registers, memory, the
            monitor, breakpoints, steps (make trace steps with it)
  gdbext/   the GDB extension (`bl` commands); imports gdb, runs inside GDB
  trace/, rr/, lab/   make trace, make record/debug-rr, the lab's grader
Entry points run as modules from the checkout: python3 -m bootlab.cli debug.
"""
