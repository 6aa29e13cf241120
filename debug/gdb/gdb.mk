# gdb.mk: make targets of the bootlab GDB extension (debug/gdb), included by
# the top-level Makefile.
#
#   make check-gdb-ext   run the extension's tests (real GDB, real QEMU)

GDB_EXT_TESTS := $(wildcard tests/test_gdb_ext*.py)

.PHONY: check-gdb-ext
check-gdb-ext: all
	$(PYTHON) -m pytest -q -p no:cacheprovider $(GDB_EXT_TESTS)
