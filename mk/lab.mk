# lab.mk: the guided lab's own targets (lab/README.md), included by the
# top-level Makefile. bootlab/lab/reset.py does the work.
#
#   make lab-reset        lab/answers.txt and lab/scripts/ back as they
#                         shipped (git's HEAD), after naming each file that
#                         would change and asking; a copy of them goes to
#                         $(B)/lab-backup-TIMESTAMP/ first
#   make lab-reset YES=1  the same without asking (needed without a terminal)

.PHONY: lab-reset
lab-reset:
	@$(PYTHON) -m bootlab.lab.reset $(if $(filter 1,$(YES)),--yes)

help::
	@echo '  lab-reset      lab/answers.txt and lab/scripts/ back as shipped, after asking'
	@echo '                 (YES=1: without); a copy of yours goes to $(B)/lab-backup-*/'
