# bochs.mk: the Bochs targets, included by the top-level Makefile.
#
#   run-bochs    boot headless in Bochs: debug console + VGA screen, exit 0 on
#                DEBUG_EXIT_SUCCESS (no window, no network port)
#   debug-bochs  Bochs' debugger on this terminal, stopped at 0x7c00 with the
#                symbols loaded (x window with $DISPLAY, else term on a pty)
#   walk-bochs   scripted tour of every transition -> $(B)/walk-bochs.txt
#   crosscheck   QEMU under GDB and Bochs agree at every milestone
#
# Every run works on a private copy of $(IMG) in a temp dir: runs never share
# an image, a lock file or a log, and a killed run leaves nothing in $(B).
# The scripts bound every wait themselves; `timeout` is a second fence.

BOCHS_DIR  := debug/bochs
BOCHS_SYMS := $(B)/boot16.sym $(B)/boot32.sym $(B)/kernel.sym
BOCHS_DEPS := setup-bochs $(IMG) $(BOCHS_SYMS)

.PHONY: run-bochs debug-bochs walk-bochs crosscheck
run-bochs: $(BOCHS_DEPS)
	@timeout -s KILL 120 $(PYTHON) $(BOCHS_DIR)/run.py

debug-bochs: $(BOCHS_DEPS)
	@$(PYTHON) $(BOCHS_DIR)/run.py --debug

walk-bochs: $(BOCHS_DEPS)
	@timeout -s KILL 120 $(PYTHON) $(BOCHS_DIR)/walk.py

crosscheck: $(BOCHS_DEPS) setup-debug
	@timeout -s KILL 180 $(PYTHON) $(BOCHS_DIR)/crosscheck.py
