# toolchain.mk (included by the Makefile): a true x86_64-elf cross compiler.
#
#   make toolchain        build binutils + gcc (C only) from Debian's source
#                         packages into $TOOLCHAIN_PREFIX (tools/toolchain/build.sh)
#   make check-toolchain  build the image with it in $(B)/toolchain-check, check
#                         its objects and boot it headless (tools/toolchain/check.sh)
#   make which-cc         which compiler and linker this build uses, and why
#
# The Makefile's CROSS comes from tools/toolchain/detect.sh, which knows the
# same default prefix as build.sh.

.PHONY: toolchain check-toolchain which-cc

# nice -n 19: the build takes long and this machine is shared; make's jobs
# (nproc) are the script's.
toolchain: setup-toolchain
	@nice -n 19 tools/toolchain/build.sh

# Why this CROSS: given on the command line or in the environment, else
# whatever detect.sh found (the Makefile ran it once).
CROSS_WHY = $(if $(filter command line,$(origin CROSS)),CROSS= given on the command line,$\
	$(if $(filter environment,$(origin CROSS)),CROSS set in the environment,$\
	$$(tools/toolchain/detect.sh --why)))
which-cc:
	@echo "CROSS = '$(CROSS)': $(CROSS_WHY)"
	@echo "CC    = $(CC): $$($(CC) --version | head -n 1)"
	@echo "LD    = $(LD): $$($(LD) --version | head -n 1)"

# What the build was compiled and linked with: rewritten only when it changes
# (CROSS=, PATH, a new make toolchain), and the C objects, the generated
# linker scripts and the links depend on it, so switching compilers rebuilds
# them and nothing else. (A temporary name of its own per make: several
# makes on one build directory at once must not share it.)
TOOLCHAIN_ID := $(B)/gen/toolchain.id
$(TOOLCHAIN_ID): FORCE | $(B)
	$(Q)mkdir -p $(@D)
	$(Q)tmp=$@.tmp.$$$$; \
	for tool in $(CC) $(LD); do command -v $$tool; $$tool --version | head -n 1; done > $$tmp; \
	if cmp -s $$tmp $@; then rm $$tmp; else mv $$tmp $@; fi
$(call obj,$(KERNEL_C)) $(ELFS) $(B)/boot16.ld $(B)/boot32.ld $(B)/kernel.ld: $(TOOLCHAIN_ID)

# The check takes the cross toolchain the build would use (CROSS= names
# another) and builds in a directory of its own, leaving $(B) alone.
TOOLCHAIN_CHECK_B := $(B)/toolchain-check
check-toolchain: setup-run
	@tools/toolchain/check.sh '$(TOOLCHAIN_CHECK_B)' '$(CROSS)'

help::
	@echo '  toolchain      build an x86_64-elf gcc + binutils once (~15 min; README "A cross compiler")'
	@echo '                 into $${TOOLCHAIN_PREFIX:-~/.local/share/bootlab/toolchain}; the build then uses it'
	@echo '  check-toolchain  build the image with it in $(TOOLCHAIN_CHECK_B), check the objects, boot it'
	@echo '  which-cc       the compiler and linker the build uses, and why'
