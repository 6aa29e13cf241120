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
# SMP=N on make's command line: QEMU gets -smp N, and the kernel is built with
# the other CPUs' start-up (kernel/smp/, CONFIG_SMP); it counts them itself,
# so the image is the same for every N. Without SMP= the kernel is the
# one-CPU kernel of the lab's exercises, byte for byte. (Only the command line
# counts, as for the machine's other options below.)
SMP_BUILD := $(if $(filter command line,$(origin SMP)),$(SMP))
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
CPPLDS    := $(CC) -E -P -x c -undef -Iinclude -I$(B)/gen

# ---- Sources, one list per CPU mode -----------------------------------------
BOOT16_SRC := boot/boot.asm boot/stage2.asm boot/a20.asm boot/e820.asm \
	boot/cpuid.asm boot/gdt.asm boot/pmode.asm
BOOT32_SRC := boot/pm32.asm boot/paging.asm boot/lmode.asm
KERNEL_ASM := kernel/entry64.asm kernel/isr.asm
KERNEL_C   := $(sort $(wildcard kernel/*.c))
# SMP builds: the APs' path (trampoline, 64-bit entry) and the BSP's side,
# linked after the rest so the one-CPU kernel's code keeps its addresses.
SMP_ASM    := $(if $(SMP_BUILD),kernel/smp/trampoline16.asm kernel/smp/trampoline32.asm \
	kernel/smp/ap_entry64.asm)
SMP_C      := $(if $(SMP_BUILD),$(sort $(wildcard kernel/smp/*.c)))

obj = $(patsubst %,$(B)/%.o,$(basename $(1)))
BOOT16_OBJ := $(call obj,$(BOOT16_SRC))
BOOT32_OBJ := $(call obj,$(BOOT32_SRC))
KERNEL_OBJ := $(call obj,$(KERNEL_ASM) $(KERNEL_C) $(SMP_ASM) $(SMP_C))

ELFS := $(B)/boot16.elf $(B)/boot32.elf $(B)/kernel.elf
IMG  := $(B)/bootlab.img
GEN  := $(B)/gen/bootlab.inc $(B)/gen/x86.inc $(B)/gen/config.h $(B)/gen/config.inc
# Made by a pattern rule, yet kept: make would delete them as intermediate.
.SECONDARY: $(B)/gen/bootlab.inc $(B)/gen/x86.inc

# ---- The image -----------------------------------------------------------------
.PHONY: all
all: $(IMG) $(ELFS:.elf=.sym) $(ELFS:.elf=.lst) $(B)/python.stamp

# The tools' Python, compiled once: GDB loads the extension at every start,
# and where PYTHONDONTWRITEBYTECODE is set it would compile it every time.
PY_SRC := $(shell find bootlab -name '*.py')
$(B)/python.stamp: $(PY_SRC) | $(B)
	$(Q)$(PYTHON) -m compileall -q bootlab >/dev/null
	$(Q)touch $@

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
		$$($(PYTHON) -m bootlab.header include/bootlab.h BOOT_CODE_MAX)
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_i386 -T $(B)/boot16.ld -R $(B)/boot32.elf \
		-o $@ $(BOOT16_OBJ)

$(B)/boot32.elf: $(BOOT32_OBJ) $(B)/boot32.ld
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_i386 -T $(B)/boot32.ld -o $@ $(BOOT32_OBJ)

$(B)/kernel.elf: $(KERNEL_OBJ) $(B)/kernel.ld
	$(call say,LD,$@)
	$(Q)$(LD) $(LDFLAGS) -m elf_x86_64 -T $(B)/kernel.ld -o $@ $(KERNEL_OBJ)

$(B)/%.ld: boot/%.ld.S include/bootlab.h include/x86.h | $(B)
	$(Q)$(CPPLDS) $< -o $@
$(B)/kernel.ld: kernel/kernel.ld.S include/bootlab.h include/x86.h $(B)/gen/config.h | $(B)
	$(Q)$(CPPLDS) $< -o $@

# ---- Objects -------------------------------------------------------------------
# The boot sector learns the kernel's size in sectors from the kernel itself
# (+1: the end-marker sector that tools/mkimage.sh appends).
$(B)/boot/boot.o: $(B)/kernel.bin
$(B)/boot/boot.o: private NASMDEFS = -DKERNEL_SECTORS=$$(( ($$(stat -c %s $(B)/kernel.bin) + 511) / 512 + 1 ))

$(B)/boot/%.o: boot/%.asm $(GEN) | setup-build
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(NASM) -f elf32 $(NASMFLAGS) $(NASMDEFS) -MD $(@:.o=.d) -MP -o $@ $<

$(B)/kernel/%.o: kernel/%.asm $(GEN) | setup-build
	$(call say,NASM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(NASM) -f elf64 $(NASMFLAGS) -MD $(@:.o=.d) -MP -o $@ $<

$(B)/kernel/%.o: kernel/%.c $(GEN) | setup-build
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# One header, two languages: NASM reads a translation of each header.
$(B)/gen/%.inc: include/%.h tools/h2inc.sh | $(B)
	$(Q)mkdir -p $(@D)
	$(Q)tools/h2inc.sh $< > $@

# Rewritten only when FAULT, BUG or SMP (given or not) changes. config.inc is NASM's side
# (boot/macros.inc includes it), written by the same run.
$(B)/gen/config.h: FORCE | $(B)
	$(Q)mkdir -p $(@D)
	$(Q)tools/genconfig.sh $@ "$(FAULT)" "$(BUG)" "$(SMP_BUILD)"
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
	$(Q)$(call LISTING,intel$(if $(SMP_BUILD), -j .text))
ifneq ($(SMP_BUILD),)
	$(Q)$(TRAMPOLINE_LISTING)
endif

# SMP builds: kernel.elf also holds the APs' trampoline, real-mode and then
# 32-bit code (from ap_pm_entry on): each part listed in its own mode.
TRAMPOLINE_LISTING = pm=0x$$($(NM) $< | awk '$$3 == "ap_pm_entry" { print $$1 }'); \
	$(OBJDUMP) -d -S -M i8086,intel -j .trampoline --stop-address=$$pm $< 2> /dev/null \
		| tail -n +4 >> $@; \
	$(OBJDUMP) -d -S -M i386,intel -j .trampoline --start-address=$$pm $< 2> /dev/null \
		| tail -n +4 >> $@

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
# CI systems often export an IMAGE or KERNEL variable of their own. So are
# the machine's options: APPEND= INITRD= CPU= MEM= SMP= QEMU_ARGS=.
from_cmdline = $(if $(filter command line,$(origin $(1))),$($(1)))
IMAGE_ARG  := $(call from_cmdline,IMAGE)
KERNEL_ARG := $(call from_cmdline,KERNEL)
OWN        := $(strip $(IMAGE_ARG)$(KERNEL_ARG))
OWN_TARGETS := debug qemu-gdb gdb run help record debug-rr vmlinux
ifneq ($(OWN),)
ifneq ($(filter-out $(OWN_TARGETS),$(or $(MAKECMDGOALS),all)),)
$(error bootlab: IMAGE= and KERNEL= go with make debug, qemu-gdb, gdb, run, record, debug-rr or vmlinux only)
endif
endif
# bootlab's own build, only when bootlab's image is the one that boots.
LAB_BUILD := $(if $(OWN),,all)

# The Python side (python3 -m bootlab.cli) reads make's options from the
# environment: exported variables reach it verbatim, so paths with blanks,
# quotes or commas need no quoting here (bootlab.own.check reads the files).
export BOOTLAB_BUILD     := $(B)
export BOOTLAB_IMAGE     := $(IMAGE_ARG)
export BOOTLAB_KERNEL    := $(KERNEL_ARG)
export BOOTLAB_SYMS      := $(call from_cmdline,SYMS)
export BOOTLAB_APPEND    := $(call from_cmdline,APPEND)
export BOOTLAB_INITRD    := $(call from_cmdline,INITRD)
export BOOTLAB_CPU       := $(call from_cmdline,CPU)
export BOOTLAB_MEM       := $(call from_cmdline,MEM)
export BOOTLAB_SMP       := $(call from_cmdline,SMP)
export BOOTLAB_QEMU_ARGS := $(call from_cmdline,QEMU_ARGS)
export BOOTLAB_TUI       := $(TUI)
export BOOTLAB_PORT      := $(GDBPORT)
export BOOTLAB_STOP      := $(call from_cmdline,STOP)
BOOTLAB := $(PYTHON) -m bootlab.cli

# ---- Running ---------------------------------------------------------------------
.PHONY: run run-headless
# A window when there is an X display, else the VGA text screen in this
# terminal (Esc then 2 for QEMU's monitor, type `quit` there to leave).
run: setup-run $(if $(DISPLAY),setup-gui) $(LAB_BUILD) | $(B)
	@$(BOOTLAB) run

# Boot without a screen: the debug console on stdout, QEMU exits with the
# kernel's status (33 = success) through isa-debug-exit.
run-headless: setup-run all
	@$(PYTHON) -m bootlab.qemu.run "$$BOOTLAB_BUILD/bootlab.img"

# ---- Debugging with GDB ------------------------------------------------------
# `make debug`: QEMU paused at the reset vector (-S) with its gdbstub on a
# loopback port the kernel picks, GDB attached and stopped at 0x7c00 (or at
# the kernel's entry with KERNEL=); QEMU's messages go to $(B)/qemu.log.
# Ctrl-C stops the guest in GDB; quitting GDB ends QEMU (bootlab/session.py).
.PHONY: debug qemu-gdb gdb
debug: setup-debug $(LAB_BUILD) | $(B)
	@$(BOOTLAB) debug

# The two-terminal form: QEMU listens on 127.0.0.1 only (never -s, which
# binds every interface), on a port derived from the user id (GDBPORT=N).
qemu-gdb: setup-debug $(LAB_BUILD) | $(B)
	@$(BOOTLAB) qemu-gdb

gdb: setup-debug | $(B)
	@$(BOOTLAB) gdb

# `make vmlinux KERNEL=bzImage`: the kernel ELF compressed inside a bzImage,
# as $(B)/vmlinux-NAME.elf, for SYMS= (bootlab/own/bzimage.py).
.PHONY: vmlinux
vmlinux: | $(B)
	@$(BOOTLAB) vmlinux

# `make tour`: the scripted tour of every transition (bootlab/tour.py); the
# transcript is written as it goes, so a run that fails leaves what it saw.
.PHONY: tour
tour: setup-debug all
	@$(BOOTLAB) tour

include mk/bochs.mk

# ---- Tests, benchmark, setup ----------------------------------------------------
PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider

.PHONY: check unit bench setup clean help
check: setup-all all
	$(PYTEST) tests

# The core's unit tests alone: recorded states, no emulator, a few seconds.
unit:
	$(PYTEST) tests/unit

# The lab's grader (bootlab/lab/grade.py): every exercise's checker, or only EX=N.
.PHONY: grade
grade: setup-debug all
	@$(PYTHON) -m bootlab.lab.grade $(if $(EX),--ex '$(EX)')

bench: setup-all all
	@$(PYTHON) -m bootlab.bench $(if $(BENCH_README),--readme)

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
	@echo '  run-bochs      boot in Bochs without a screen: debug console and VGA text'
	@echo '  debug          QEMU paused at 0x7c00 with GDB attached (real-mode symbols, 16-bit disassembly)'
	@echo '  qemu-gdb, gdb  the same in two terminals'
	@echo '  vmlinux        KERNEL=bzImage: its kernel ELF -> $(B)/vmlinux-NAME.elf, for SYMS='
	@echo '  tour           scripted GDB tour of every transition -> $(B)/tour.txt'
	@echo '  debug-bochs    Bochs debugger stopped at 0x7c00 with symbols'
	@echo '  tour-bochs     scripted Bochs tour -> $(B)/tour-bochs.txt'
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
	@echo '                        a20-reset stage2-sectors vga-cell e820-stack (lab/README.md);'
	@echo '                        with SMP=N: sipi-vector'
	@echo '  SMP=N                 N CPUs (QEMU -smp N, Bochs cpu: count=N) and a kernel that'
	@echo '                        starts them all (kernel/smp/; README "More than one CPU")'
	@echo '  OPT=-O2               C optimisation (default -O0)'
	@echo '  CROSS=prefix-         toolchain prefix (now: "$(CROSS)"; make which-cc says why)'
	@echo '  IMAGE=disk.img        debug, qemu-gdb/gdb, run: boot this raw disk image instead,'
	@echo '                        no bootlab build or symbols (README: "Your own image")'
	@echo '  KERNEL=file           the same with a kernel for qemu -kernel (Multiboot ELF32'
	@echo '                        or a.out kludge, Linux bzImage, PVH ELF): stops at its entry'
	@echo '  SYMS="a.elf b.elf@0x7c00"  symbol files for GDB; FILE@OFFSET moves the addresses'
	@echo '  STOP=reset            debug, gdb, debug-rr: stop at the reset vector (F000:FFF0),'
	@echo '                        before the BIOS runs, instead of at 0x7c00'
	@echo '  make vmlinux KERNEL=bzImage  its embedded kernel ELF -> $(B)/vmlinux-NAME.elf (for SYMS=)'
	@echo '  TUI=1                 debug, gdb, debug-rr: open in the TUI, layout bootlab'
	@echo '                        (source, CPU state, VGA screen; README "A TUI layout")'
	@echo '  V=1                   show every command'
	@echo
	@echo 'More targets:'

# Further features, one fragment each; each adds its lines to `make help`
# with a `help::` rule of its own (after the one above).
include mk/rr.mk
include mk/trace.mk
include mk/lab.mk
include tools/toolchain/toolchain.mk
include tools/fresh.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
