# rr.mk: time travel (README "Time travel: make debug-rr"), included by the
# top-level Makefile.
#
#   record     record one boot of the image under QEMU's record/replay
#              -> $(B)/rr (bootlab/rr/record.py; ends when the guest halts,
#              resets or after RR_SECONDS)
#   debug-rr   replay the recording (made first if missing or stale) under
#              GDB, stopped at 0x7c00: reverse-stepi, reverse-next,
#              reverse-continue and watchpoints run backwards; GDB talks to
#              a relay (bootlab/rr/replay.py) that serves the replay
#
# IMAGE=disk.img records and replays someone else's disk instead.

export BOOTLAB_RR_SECONDS := $(RR_SECONDS)
# RR_DIR=: where the recording goes (default $(B)/rr).
export BOOTLAB_RR_DIR := $(RR_DIR)

.PHONY: record debug-rr
record: setup-debug $(LAB_BUILD) | $(B)
	@timeout -s KILL $$(( $${BOOTLAB_RR_SECONDS:-10} + 60 )) $(BOOTLAB) record

debug-rr: setup-debug $(LAB_BUILD) | $(B)
	@$(BOOTLAB) debug-rr

help::
	@echo '  record         record one boot (QEMU record/replay) -> $(B)/rr'
	@echo '  debug-rr       replay it under GDB at 0x7c00: reverse-stepi/-next/-continue, watchpoints'
