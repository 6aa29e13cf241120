# Makefile: builds the bootlab disk image and its per-mode debug symbols, runs
# it in QEMU and Bochs, and runs the tests. `make help` lists every target.
#
# Outputs (all under build/):
#   bootlab.img                    the disk image (boot sector, stage 2, kernel)
#   boot16.elf/.sym/.lst           real-mode code: ELF+DWARF for GDB, symbols
#                                  for Bochs' ldsym, a disassembly listing
#   boot32.elf/.sym/.lst           32-bit protected-mode code, likewise
#   kernel.elf/.sym/.lst           the 64-bit kernel (with lm_entry), likewise

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules --no-builtin-variables

B ?= build

# ---- Options (make help) ----------------------------------------------------
V     ?= 0
OPT   ?= -O0
FAULT ?=
# A lab bug hunt (lab/README.md): one small #ifdef BUG_<NAME> block turned on.
BUG   ?=
# Toolchain prefix: CROSS= given wins; else x86_64-elf-gcc on PATH, else the one
# `make toolchain` built, else the host's gcc (tools/toolchain/detect.sh, run once).
CROSS := $(if $(filter undefined,$(origin CROSS)),$(shell tools/toolchain/detect.sh),$(CROSS))
PYTHON ?= /usr/bin/python3

comma := ,
Q := $(if $(filter 1,$(V)),,@)
# $(call say,TAG,FILE): one short line per step, unless V=1 or make -s.
quiet := $(findstring s,$(firstword -$(MAKEFLAGS)))
say = $(if $(filter 1,$(V))$(quiet),,@printf '  %-8s %s\n' '$(1)' '$(2)';)

# ---- Tools and flags, each defined once --------------------------------------
CC      := $(CROSS)gcc
LD      := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
OBJDUMP := $(CROSS)objdump
NM      := $(CROSS)nm
SIZE    := $(CROSS)size
NASM    := nasm
QEMU    := qemu-system-x86_64

# Freestanding 64-bit C: no libc, no PIC, no red zone (interrupts would
# clobber it), no SSE (no FPU state is saved on exceptions), no CET.
CFLAGS := -std=c11 -m64 -ffreestanding -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -mno-red-zone -mgeneral-regs-only \
	-fcf-protection=none -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -g3 $(OPT) -Wall -Wextra -Werror \
	-Iinclude -Ikernel -I$(B)/gen -MMD -MP
NASMFLAGS := -g -F dwarf -Iboot/ -I$(B)/gen/ -Werror
LDFLAGS   := -nostdlib -z noexecstack --no-warn-rwx-segments
CPPLDS    := $(CC) -E -P -x c -undef -Iinclude

# ---- Sources, one list per CPU mode -----------------------------------------
BOOT16_SRC := boot/boot.asm boot/stage2.asm boot/a20.asm boot/e820.asm \
	boot/cpuid.asm boot/gdt.asm boot/pmode.asm
BOOT32_SRC := boot/pm32.asm boot/paging.asm boot/lmode.asm
KERNEL_ASM := boot/entry64.asm kernel/isr.asm
KERNEL_C   := $(sort $(wildcard kernel/*.c))

obj = $(patsubst %,$(B)/%.o,$(basename $(1)))
BOOT16_OBJ := $(call obj,$(BOOT16_SRC))
BOOT32_OBJ := $(call obj,$(BOOT32_SRC))
KERNEL_OBJ := $(call obj,$(KERNEL_ASM) $(KERNEL_C))

ELFS := $(B)/boot16.elf $(B)/boot32.elf $(B)/kernel.elf
IMG  := $(B)/bootlab.img
GEN  := $(B)/gen/bootlab.inc $(B)/gen/config.h $(B)/gen/config.inc

# ---- The image -----------------------------------------------------------------
.PHONY: all
all: $(IMG) $(ELFS:.elf=.sym) $(ELFS:.elf=.lst)

$(IMG): $(B)/boot16.bin $(B)/boot32.bin $(B)/kernel.bin tools/mkimage.sh
	$(call say,IMAGE,$@)
	$(Q)tools/mkimage.sh $@ $(B)/boot16.bin $(B)/boot32.bin $(B)/kernel.bin

$(B)/%.bin: $(B)/%.elf
	$(call say,OBJCOPY,$@)
	$(Q)$(OBJCOPY) -O binary $< $@

# The boot sector must leave room for the 2-byte signature; check it before
# linking so the message names both sizes instead of an overlap error.
$(B)/boot16.elf: $(BOOT16_OBJ) $(B)/boot16.ld $(B)/boot32.elf
	$(Q)tools/sizecheck.sh "boot sector" \
		$$($(SIZE) -A $(B)/boot/boot.o | awk '$$1 == ".boot" { print $$2 }') \
		$$(tools/const.sh BOOT_CODE_MAX)
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_i386 -T $(B)/boot16.ld -R $(B)/boot32.elf \
		-o $@ $(BOOT16_OBJ)

$(B)/boot32.elf: $(BOOT32_OBJ) $(B)/boot32.ld
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_i386 -T $(B)/boot32.ld -o $@ $(BOOT32_OBJ)

$(B)/kernel.elf: $(KERNEL_OBJ) $(B)/kernel.ld
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_x86_64 -T $(B)/kernel.ld -o $@ $(KERNEL_OBJ)

$(B)/%.ld: boot/%.ld.S include/bootlab.h | $(B)
	$(Q)$(CPPLDS) $< -o $@
$(B)/kernel.ld: kernel/kernel.ld.S include/bootlab.h | $(B)
	$(Q)$(CPPLDS) $< -o $@

# ---- Objects -------------------------------------------------------------------
# The boot sector learns the kernel's size in sectors from the kernel itself
# (+1: the end-marker sector that tools/mkimage.sh appends).
$(B)/boot/boot.o: $(B)/kernel.bin
$(B)/boot/boot.o: private NASMDEFS = -DKERNEL_SECTORS=$$(( ($$(stat -c %s $(B)/kernel.bin) + 511) / 512 + 1 ))

$(B)/boot/%.o: boot/%.asm $(GEN) | setup-build
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(NASM) -f $(if $(filter boot/entry64.asm,$<),elf64,elf32) $(NASMFLAGS) \
		$(NASMDEFS) -MD $(@:.o=.d) -MP -o $@ $<

$(B)/kernel/%.o: kernel/%.asm $(GEN) | setup-build
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(NASM) -f elf64 $(NASMFLAGS) -MD $(@:.o=.d) -MP -o $@ $<

$(B)/kernel/%.o: kernel/%.c $(GEN) | setup-build
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# One header, two languages: NASM reads a translation of bootlab.h.
$(B)/gen/bootlab.inc: include/bootlab.h tools/h2inc.sh | $(B)
	$(Q)mkdir -p $(@D)
	$(Q)tools/h2inc.sh $< > $@

# Rewritten only when FAULT or BUG changes. config.inc is NASM's side
# (boot/macros.inc includes it), written by the same run.
$(B)/gen/config.h: FORCE | $(B)
	$(Q)mkdir -p $(@D)
	$(Q)tools/genconfig.sh $@ "$(FAULT)" "$(BUG)"
$(B)/gen/config.inc: $(B)/gen/config.h

# ---- Symbols and listings ---------------------------------------------------
# Bochs' `ldsym global "FILE"` reads lines "hexaddr name".
$(B)/%.sym: $(B)/%.elf
	$(Q)$(NM) -n --defined-only $< | awk '$$2 ~ /^[TtDdBbRr]$$/ { print $$1, $$3 }' > $@

# objdump warns about NASM's DWARF sibling markers; the listing is still right.
LISTING = $(OBJDUMP) -d -S -M $(1) $< 2> /dev/null > $@
$(B)/boot16.lst: $(B)/boot16.elf
	$(Q)$(call LISTING,i8086$(comma)intel)
$(B)/boot32.lst: $(B)/boot32.elf
	$(Q)$(call LISTING,intel)
$(B)/kernel.lst: $(B)/kernel.elf
	$(Q)$(call LISTING,intel)

$(B):
	$(Q)mkdir -p $@

# setup-GROUP: install (as root) or name the missing Debian packages of a group
# (tools/setup.sh); targets list the groups they need before anything else.
# (pattern rules cannot be .PHONY; no file of that name ever exists)
setup-%:
	@tools/setup.sh $*

.PHONY: FORCE
FORCE:

# ---- Someone else's disk image or kernel (README: "Your own image or kernel") ----
# make debug IMAGE=disk.img | KERNEL=file [SYMS="a.elf b.elf@0x7c00"]: the same
# session on a system bootlab knows nothing about, with none of bootlab's
# symbols and without building bootlab. Taken from make's command line only:
# CI systems often export an IMAGE or KERNEL variable of their own.
from_cmdline = $(if $(filter command line,$(origin $(1))),$($(1)))
IMAGE_ARG  := $(call from_cmdline,IMAGE)
KERNEL_ARG := $(call from_cmdline,KERNEL)
SYMS_ARG   := $(call from_cmdline,SYMS)
OWN        := $(strip $(IMAGE_ARG)$(KERNEL_ARG))
OWN_TARGETS := debug qemu-gdb gdb run help record debug-rr
ifneq ($(OWN),)
ifneq ($(filter-out $(OWN_TARGETS),$(or $(MAKECMDGOALS),all)),)
$(error bootlab: IMAGE= and KERNEL= go with make debug, qemu-gdb, gdb, run, record or debug-rr only)
endif
endif
# tools/ownimage.py checks the files when a recipe that uses OWN_STOP is
# expanded, before any of it runs: a wrong file gets its one-line complaint
# and make stops with nothing started. Otherwise it prints where GDB stops:
# 0x7c00 for a disk, the entry point of a kernel. OWN_CHECKED runs the same
# check where the address is not needed (it expands to nothing).
OWN_STOP = $(shell $(PYTHON) tools/ownimage.py --image '$(IMAGE_ARG)' \
	--kernel '$(KERNEL_ARG)' --syms '$(SYMS_ARG)')$(if \
	$(filter-out 0,$(.SHELLSTATUS)),$(error nothing started))
OWN_CHECKED = $(if $(OWN)$(SYMS_ARG),$(if $(OWN_STOP),))
# The same options again, for the second terminal of qemu-gdb.
OWN_OPTS := $(if $(IMAGE_ARG), IMAGE=$(IMAGE_ARG))$(if $(KERNEL_ARG), KERNEL=$(KERNEL_ARG))$(if \
	$(SYMS_ARG), SYMS='$(SYMS_ARG)')
# bootlab's own build, only when bootlab's image is the one that boots.
LAB_BUILD := $(if $(OWN),,all)
# An ELF kernel carries its own symbols: they load unless SYMS= names others.
# (ELF_MAGIC: the bytes 7f 'E' 'L' 'F' read as one little-endian word by od.)
ELF_MAGIC  := 464c457f
KERNEL_ELF := $(if $(KERNEL_ARG),$(if $(filter $(ELF_MAGIC),$(shell \
	od -An -tx4 -N4 $(KERNEL_ARG) 2>/dev/null)),$(KERNEL_ARG)))

# ---- Running ---------------------------------------------------------------------
QEMU_MACHINE := $(shell sed -e 's/\#.*//' configs/qemu.args)
# snapshot=on: writes go to a temporary overlay, so runs never change the
# image and any number of them (make debug, make walk, tests) can share it.
qemu_disk    = -drive file=$(1),format=raw,if=ide,snapshot=on
QEMU_DISK    := $(call qemu_disk,$(IMG))
# What the PC boots: a disk (bootlab's or IMAGE=), or with KERNEL= a kernel
# that QEMU's own loader (-kernel) enters directly, with no disk at all.
QEMU_BOOT    := $(if $(KERNEL_ARG),-kernel $(KERNEL_ARG),$(call qemu_disk,$(or $(IMAGE_ARG),$(IMG))))
# A window when there is an X display, else the VGA text screen in this
# terminal (Esc then 2 for QEMU's monitor, type `quit` there to leave).
QEMU_DISPLAY := $(if $(DISPLAY),,-display curses)

.PHONY: run run-headless
run: setup-run $(if $(DISPLAY),setup-gui) $(LAB_BUILD) | $(B)
	@$(OWN_CHECKED)echo "bootlab: debug console (port 0xE9) -> $(B)/debugcon.log"
	$(QEMU) $(QEMU_MACHINE) $(QEMU_BOOT) $(QEMU_DISPLAY) -debugcon file:$(B)/debugcon.log

# Boot without a screen: the debug console on stdout, QEMU exits with the
# kernel's status (33 = success) through isa-debug-exit.
run-headless: setup-run all
	$(QEMU) $(QEMU_MACHINE) $(QEMU_DISK) -display none -debugcon stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04; \
		status=$$?; [ $$status -eq 33 ] || { echo "bootlab: guest exit status $$status (33 = success)"; exit 1; }

# ---- Debugging with GDB ------------------------------------------------------
# `make debug`: QEMU runs as GDB's child over a pipe (-gdb stdio): no TCP port
# at all, nothing to collide with, and QEMU ends when GDB quits. -S keeps the
# CPU paused at the reset vector until GDB says continue.
GDB        := gdb
# One symbol file per CPU mode (none with IMAGE=/KERNEL=), then SYMS=.
# add-symbol-file, not `file`: `file` on a 32-bit ELF would fix GDB's
# architecture to i386, and the 64-bit target description QEMU sends would
# then be refused. FILE@OFFSET moves the file's addresses by OFFSET (-o), for
# code that runs at another address than the one it was linked for.
GDB_SYMS   := $(if $(OWN),,$(ELFS)) $(or $(SYMS_ARG),$(KERNEL_ELF))
add_sym    = -ex 'add-symbol-file $(word 1,$(subst @, ,$(1)))$(if \
	$(word 2,$(subst @, ,$(1))), -o $(word 2,$(subst @, ,$(1))))'
GDB_SETUP  := -q -nx -x debug/lab.gdb $(foreach s,$(GDB_SYMS),$(call add_sym,$(s))) \
	-ex 'set history filename $(B)/.gdb_history' -ex 'set history save on'
# setpriv --pdeathsig: a QEMU whose GDB exits without `kill` (while the guest
# is paused, say) is ended with it instead of lingering.
QEMU_CHILD := setpriv --pdeathsig KILL $(QEMU)
QEMU_PIPE  := $(QEMU_CHILD) $(QEMU_MACHINE) $(QEMU_BOOT) $(if $(DISPLAY),,-display none) \
	-debugcon file:$(B)/debugcon.log -S -gdb stdio
# The BIOS has loaded the boot sector when execution reaches 0x7c00; with
# IMAGE=/KERNEL=/SYMS=, tools/ownimage.py says where to stop.
GDB_TO_7C00 := -ex 'thbreak *0x7c00' -ex 'continue'
GDB_STOP     = $(if $(OWN)$(SYMS_ARG),-ex 'thbreak *$(OWN_STOP)' -ex 'continue',$(GDB_TO_7C00)) \
	$(if $(TUI),-ex 'layout bootlab')

.PHONY: debug qemu-gdb gdb
debug: setup-debug $(LAB_BUILD) | $(B)
	$(GDB) $(GDB_SETUP) -ex 'target remote | exec $(QEMU_PIPE)' $(GDB_STOP)

# The two-terminal form: QEMU listens on loopback only (never -s, which binds
# every interface), on a port derived from the user id.
qemu-gdb: setup-debug $(LAB_BUILD) | $(B)
	@$(OWN_CHECKED)port=$$(tools/gdbport.sh) && \
	echo "bootlab: QEMU is paused at the reset vector, gdbstub on 127.0.0.1:$$port." && \
	echo "bootlab: in another terminal, run: make gdb$(OWN_OPTS)" && \
	$(QEMU) $(QEMU_MACHINE) $(QEMU_BOOT) $(QEMU_DISPLAY) \
		-debugcon file:$(B)/debugcon.log -S -gdb tcp:127.0.0.1:$$port

gdb: setup-debug | $(B)
	$(GDB) $(GDB_SETUP) -ex "target remote 127.0.0.1:$${GDBPORT:-$$(( 26000 + $$(id -u) % 5000 ))}" $(GDB_STOP)

# `make walk`: the scripted tour. No isa-debug-exit here: the guest halts at
# the end, so the screen can still be read. The transcript is written as it
# goes, so a run that fails or hangs leaves what it saw; `timeout` bounds the
# whole run on top of walk.py's per-leg limit.
QEMU_WALK := $(QEMU_CHILD) $(QEMU_MACHINE) $(QEMU_DISK) -display none \
	-debugcon file:$(B)/walk-debugcon.log -S -gdb stdio

.PHONY: walk
walk: setup-debug all
	@timeout 120 $(GDB) -batch $(GDB_SETUP) \
		-ex 'target remote | exec $(QEMU_WALK)' -x debug/walk.py > $(B)/walk.txt 2>&1; \
	status=$$?; cat $(B)/walk.txt; \
	if [ $$status -ne 0 ]; then echo "bootlab: walk failed (status $$status), transcript in $(B)/walk.txt"; exit 1; fi; \
	echo "bootlab: transcript in $(B)/walk.txt"

-include debug/gdb/gdb.mk
-include debug/bochs/bochs.mk

# ---- Tests, benchmark, setup ----------------------------------------------------
PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider

.PHONY: check bench setup clean help
check: setup-all all
	$(PYTEST) tests

# The lab's grader (lab/grade.py): every exercise's checker, or only EX=N.
.PHONY: grade
grade: setup-debug all
	$(PYTHON) lab/grade.py $(if $(EX),--ex $(EX))

bench: setup-all all
	$(PYTHON) tools/bench.py

setup:
	tools/setup.sh all

clean:
	rm -rf $(B)

# help:: (double colon): the fragments included below append their own lines.
help::
	@echo 'bootlab: from 0x7c00 to the first character on screen, in a debugger.'
	@echo
	@echo 'Targets:'
	@echo '  all (default)  build $(IMG), per-mode .elf/.sym/.lst under $(B)/'
	@echo '  run            boot in QEMU (window with $$DISPLAY, else curses in this terminal)'
	@echo '  run-headless   boot in QEMU without a screen, debug console on stdout'
	@echo '  run-bochs      boot in Bochs'
	@echo '  debug          QEMU paused at 0x7c00 with GDB attached (real-mode symbols, 16-bit disassembly)'
	@echo '  qemu-gdb, gdb  the same in two terminals'
	@echo '  walk           scripted GDB tour of every transition -> $(B)/walk.txt'
	@echo '  debug-bochs    Bochs debugger stopped at 0x7c00 with symbols'
	@echo '  walk-bochs     scripted Bochs tour -> $(B)/walk-bochs.txt'
	@echo '  crosscheck     QEMU/GDB and Bochs agree at every milestone'
	@echo '  check          build and run all tests (pytest)'
	@echo '  grade          grade the lab exercises (lab/answers.txt); EX=N for one'
	@echo '  bench          timing table (build, boot, debug stops)'
	@echo '  setup          install the Debian packages (as root; else prints the command)'
	@echo '  clean          remove $(B)/'
	@echo
	@echo 'Options:'
	@echo '  FAULT=de|bp|ud|gp|pf  kernel raises this exception after the banner'
	@echo '  BUG=name              build a lab bug hunt: gdt-limit lm-selector no-pdpte'
	@echo '                        a20-reset stage2-sectors vga-cell e820-stack (lab/README.md)'
	@echo '  OPT=-O2               C optimisation (default -O0)'
	@echo '  CROSS=prefix-         toolchain prefix (now: "$(CROSS)"; make which-cc says why)'
	@echo '  IMAGE=disk.img        debug, qemu-gdb/gdb, run: boot this raw disk image instead,'
	@echo '                        no bootlab build or symbols (README: "Your own image")'
	@echo '  KERNEL=file           the same with a kernel for qemu -kernel (Multiboot ELF32'
	@echo '                        or a.out kludge, Linux bzImage, PVH ELF): stops at its entry'
	@echo '  SYMS="a.elf b.elf@0x7c00"  symbol files for GDB; FILE@OFFSET moves the addresses'
	@echo '  TUI=1                 debug, gdb, debug-rr: open in the TUI, layout bootlab'
	@echo '                        (source, CPU state, VGA screen; README "A TUI layout")'
	@echo '  V=1                   show every command'
	@echo
	@echo 'More targets:'

# Further features, one fragment each; each adds its lines to `make help`
# with a `help::` rule of its own (after the one above).
-include debug/rr/rr.mk
-include debug/trace/trace.mk
-include tools/toolchain/toolchain.mk
include tools/fresh.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
