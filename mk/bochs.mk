# bochs.mk: the Bochs targets (bootlab/bochs/), included by the Makefile.
#
#   run-bochs    boot headless in Bochs: debug console + VGA screen, exit 0 on
#                DEBUG_EXIT_SUCCESS (no window, no network port)
#   debug-bochs  Bochs' debugger on this terminal, stopped at 0x7c00 with the
#                symbols loaded (x window with $DISPLAY, else term on a pty)
#   tour-bochs   scripted tour of every transition -> $(B)/tour-bochs.txt
#   crosscheck   QEMU under GDB and Bochs agree at every milestone
#   SMP=N        run-bochs, debug-bochs and crosscheck give Bochs N CPUs (cpu:
#                count=N; Debian's Bochs 2.7 has SMP support) and build the SMP
#                kernel; crosscheck gives QEMU N CPUs too and compares each
#                AP's walk, on every CPU started by then
#
# Every run works on a private copy of $(IMG) in a directory of its own:
# runs never share an image, a lock file or a log. The drivers bound every
# wait themselves; `timeout` is a second fence.

BOCHS_SYMS := $(B)/boot16.sym $(B)/boot32.sym $(B)/kernel.sym
BOCHS_DEPS := setup-bochs $(IMG) $(BOCHS_SYMS)

.PHONY: run-bochs debug-bochs tour-bochs crosscheck
run-bochs: $(BOCHS_DEPS)
	@timeout -s KILL 120 $(PYTHON) -m bootlab.bochs.run

debug-bochs: $(BOCHS_DEPS)
	@$(PYTHON) -m bootlab.bochs.run --debug

tour-bochs: $(BOCHS_DEPS)
	@timeout -s KILL 120 $(PYTHON) -m bootlab.bochs.tourcli

crosscheck: $(BOCHS_DEPS) setup-debug
	@timeout -s KILL 180 $(PYTHON) -m bootlab.bochs.crosscheck

