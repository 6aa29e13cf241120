"""QEMU's `-d int,cpu_reset` log (QEMU 7.2, TCG), parsed.

Each exception is a "check_exception old: .. new: V" line followed by its
"N: v=VV e=EEEE i=0 cpl=C IP=CS:EIP pc=PC ..." line (CR2 included for #PF);
BIOS `int n` calls (i=1) and hardware interrupts have no check_exception
line. "Triple fault" marks a triple fault, "CPU Reset" each reset.
"""
import re

# Where the PC's firmware runs (QEMU's pc machine with SeaBIOS): the option
# ROMs and the BIOS below 1 MiB (0xc0000-0xfffff, as every PC maps them),
# and the BIOS's flash at the top of 4 GiB (SeaBIOS's 256 KiB image; the
# reset vector, 0xfffffff0, is its last 16 bytes).
FIRMWARE = ((0xc0000, 0x100000), (0x100000000 - 0x40000, 0x100000000))

EXCEPTION = re.compile(r"\s*\d+: v=([0-9a-f]+) e=([0-9a-f]+) i=0 cpl=\d "
                       r"IP=([0-9a-f]+):[0-9a-f]+ pc=([0-9a-f]+).*?(?:CR2=([0-9a-f]+))?$")


def exceptions(text):
    """[{v, e, cs, pc, cr2}] for every exception the CPU raised, in order."""
    found = []
    lines = text.splitlines()
    for before, line in zip(lines, lines[1:]):
        m = EXCEPTION.match(line)
        if m and before.startswith("check_exception"):
            found.append({"v": int(m.group(1), 16), "e": int(m.group(2), 16),
                          "cs": int(m.group(3), 16), "pc": int(m.group(4), 16),
                          "cr2": int(m.group(5), 16) if m.group(5) else None})
    return found


def counts(text):
    """(CPU resets, exceptions, triple faults) in a log."""
    return (sum(1 for l in text.splitlines() if l.startswith("CPU Reset")),
            sum(1 for l in text.splitlines() if l.startswith("check_exception")),
            text.count("Triple fault"))


def in_firmware(pc):
    return any(low <= pc < high for low, high in FIRMWARE)


def exception_sites(text):
    """The linear address (pc) of every exception, one per check_exception
    line. A fault raised while delivering another (the double fault, the
    one that makes a triple fault) has no v= line of its own: it is where
    the exception before it was."""
    sites, last = [], None
    lines = text.splitlines()
    for line, after in zip(lines, lines[1:] + [""]):
        if line.startswith("check_exception"):
            m = EXCEPTION.match(after)
            if m:
                last = int(m.group(4), 16)
            sites.append(last)
    return sites
