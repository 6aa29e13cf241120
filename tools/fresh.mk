# fresh.mk (included by the Makefile): the README's promise, checked on a
# fresh Debian 12 (README "Quick start").
#
#   make check-fresh   as root: a minimal Debian 12 from debootstrap (built once,
#                      cached in ~/.cache/bootlab/fresh), this checkout's HEAD
#                      cloned into it, then make debug and make check inside
#                      with only make installed (tools/fresh/check-fresh.sh)

.PHONY: check-fresh
check-fresh: setup-fresh
	@tools/fresh/check-fresh.sh '$(B)'

help::
	@echo '  check-fresh    as root: make debug and make check in a fresh minimal Debian 12'
	@echo '                 (debootstrap, cached in ~/.cache/bootlab/fresh), HEAD cloned into it'
