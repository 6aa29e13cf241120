# trace.mk: `make trace`, the boot path as one annotated listing, included by
# the top-level Makefile. bootlab/trace/main.py does the work (it steps QEMU
# over the gdbstub itself, bootlab/trace/tracer.py; GDB names the symbols and
# source lines); see README.md, "The boot trace".
#
#   make trace                 every instruction from 0x7c00 to the first
#                              write to VGA text memory -> $(B)/trace.txt;
#                              highlights and a per-stage summary here
#   make trace BIOS=1          list the BIOS calls' instructions too
#   make trace MAX=N           give up after N instructions (default 100000)
#   make trace TRACE_TIMEOUT=S give up after S seconds (default 300)
#   make trace SMP=M TRACE_CPU=N  trace application processor N (0 < N < M)
#                              from ap_start, its first instruction, to its
#                              first VGA write. Not CPU=, which names QEMU's
#                              CPU model for every target (CPU=max).
#
# The options are checked (trace-options) before anything is built.

TRACE_OPTS = $(if $(filter 1,$(BIOS)),--bios) $(if $(MAX),--max '$(MAX)') \
	$(if $(TRACE_TIMEOUT),--timeout '$(TRACE_TIMEOUT)') \
	$(if $(TRACE_CPU),--cpu '$(TRACE_CPU)')

.PHONY: trace trace-options
trace: trace-options setup-debug all
	@$(PYTHON) -m bootlab.trace.main --build "$$BOOTLAB_BUILD" $(TRACE_OPTS)

trace-options:
	@$(PYTHON) -m bootlab.trace.main --check $(TRACE_OPTS)

help::
	@echo '  trace          every instruction from 0x7c00 to the first VGA write, annotated,'
	@echo '                 -> $(B)/trace.txt (BIOS=1: BIOS calls too; MAX=N instructions at most;'
	@echo '                 SMP=M TRACE_CPU=N: AP N from its Start-Up IPI instead)'
