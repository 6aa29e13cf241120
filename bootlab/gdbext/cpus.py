"""`bl cpus`: every CPU at a glance, from one `monitor info registers -a`
(one round trip whatever the number of CPUs), decided by the core.

Only the bootstrap processor starts at the reset vector; every other CPU
waits, and an OS wakes it with INIT and Start-Up IPIs (SDM Vol. 3A 8.4): an
INIT puts it in the reset state, halted, waiting for a SIPI; the SIPI starts
it in real mode at VV00:0000. SeaBIOS wakes the APs once itself (to count
them) and parks them halted in its own code.
"""
from ..qemu import monitor as qemu_monitor
from ..x86.cpu import CpuState
from . import target
from .command import BlCommand

RESET_CS_BASE, RESET_IP = 0xffff0000, 0xfff0     # SDM 9.1.4: the first fetch at ffff_fff0
BIOS_AREA = (0xe0000, 0x100000)                    # the BIOS's code below 1 MiB


def started(state, halted):
    """How far a CPU has come: at the reset state, parked in the BIOS, or
    started (by the OS, or the BSP, which starts by itself)."""
    if halted and state.cs.base == RESET_CS_BASE and state.ip == RESET_IP:
        return "waits for a SIPI (reset state)"
    if halted and BIOS_AREA[0] <= state.pc_linear < BIOS_AREA[1]:
        return "parked in the BIOS (an INIT-SIPI-SIPI starts it)"
    return "started"


def states(text):
    """[(CPU index, CpuState, halted)] from `info registers -a`."""
    out = []
    for r in qemu_monitor.parse_all(text):
        regs = dict.fromkeys(("cr0", "cr2", "cr3", "cr4", "efer", "eflags", "rip"), 0)
        regs.update(r.regs())
        out.append((r.cpu, CpuState(regs, r.segs, r.tables), r.halted))
    return out


class CpusCommand(BlCommand):
    """Show every CPU: its mode, paging mode, CS:IP and whether it has started.
Usage: bl cpus
One line per CPU (GDB thread N is CPU N-1): the CPU mode and paging mode,
where it fetches next, HLT when it sits in a HLT, and how far it has come:
started, parked in the BIOS, or waiting for a SIPI. `*` marks GDB's
selected CPU, the one every other bl command describes (`thread N` selects)."""
    NAME = "cpus"

    def run(self, argv):
        if argv:
            self.usage("no arguments expected")
        selected = target.thread_cpu()
        for cpu, st, halted in states(target.monitor("info registers -a")):
            m = st.mode
            print("%s CPU %-2d %-22s paging %-7s %-30s %-3s %s" % (
                "*" if cpu == selected else " ", cpu, m.name, m.paging, st.format_pc(),
                "HLT" if halted else "", started(st, halted)))
