# rr.mk: time travel (README "Time travel: make debug-rr"), included by the
# top-level Makefile.
#
#   record     record one boot of the image under QEMU's record/replay
#              -> $(B)/rr (debug/rr/record.py; ends when the guest halts,
#              resets or after RR_SECONDS)
#   debug-rr   replay the recording (made first if missing or stale) under
#              GDB, stopped at 0x7c00: reverse-stepi, reverse-next,
#              reverse-continue and watchpoints run backwards
#
# IMAGE=disk.img records and replays someone else's disk instead.

RR_DIR     := $(B)/rr
RR_IMAGE   := $(or $(IMAGE_ARG),$(IMG))
RR_SECONDS ?= 10
RR_RECORD   = timeout -s KILL $$(( $(RR_SECONDS) + 60 )) $(PYTHON) debug/rr/record.py \
	--seconds $(RR_SECONDS) $(1) $(RR_IMAGE) $(RR_DIR)
# The relay between GDB and the replaying QEMU (debug/rr/replay.py); it dies
# with GDB like QEMU does in make debug.
RR_TARGET  := target remote | exec setpriv --pdeathsig KILL $(PYTHON) debug/rr/replay.py $(RR_DIR)

.PHONY: record debug-rr
record: setup-debug $(LAB_BUILD) | $(B)
	@$(if $(KERNEL_ARG),$(error bootlab: make record/debug-rr take IMAGE=, not KERNEL=))$(OWN_CHECKED)$(call RR_RECORD,)

debug-rr: setup-debug $(LAB_BUILD) | $(B)
	@$(if $(KERNEL_ARG),$(error bootlab: make record/debug-rr take IMAGE=, not KERNEL=))$(OWN_CHECKED)$(call RR_RECORD,--if-stale)
	$(GDB) $(GDB_SETUP) -ex '$(RR_TARGET)' $(GDB_STOP)

help::
	@echo '  record         record one boot (QEMU record/replay) -> $(B)/rr'
	@echo '  debug-rr       replay it under GDB at 0x7c00: reverse-stepi/-next/-continue, watchpoints'
