"""The QEMU and GDB command lines of every bootlab run, built in one place.

The machine comes from configs/qemu.args (one option per line, '#' starts a
comment); a Machine adds what one run changes (the CPU model, memory, CPU
count, what boots) and the devices a run needs. GDB's side: the lab's setup
file, the symbol files, and the `target remote` line.

The gdbstub always listens on 127.0.0.1, on a socket the caller has bound
and passes to QEMU as a file descriptor (session.py): the port is free by
construction and nothing else can take it first. QEMU's `-s` and
`-gdb tcp::N` would listen on every interface; `target remote | exec qemu
... -gdb stdio` needs no port, but over that pipe GDB polls QEMU's stderr
once per byte and a monitor command printing more than ~650 lines
deadlocks both (GDB's one-byte acks fill the socket's buffer while QEMU,
busy printing, reads nothing). Loopback TCP coalesces those acks.
"""
import os
import re
import shlex
import sys
from pathlib import Path

from .. import project

QEMU = "qemu-system-x86_64"
GDB = "gdb"
QEMU_ARGS = project.CONFIGS / "qemu.args"
# isa-debug-exit: the kernel's status byte v written to port 0xf4 ends QEMU
# with exit status (v << 1) | 1.
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
LOOPBACK = "127.0.0.1"
GDB_SETUP = project.ROOT / "debug" / "lab.gdb"
# Options that would open a listening port beyond loopback, or take over
# the gdbstub or the monitor bootlab talks through.
REFUSED = {"-s": "listens for GDB on every interface (bootlab starts the gdbstub itself)",
           "-gdb": "bootlab starts the gdbstub itself, on 127.0.0.1",
           "-qmp": "a QMP socket is not needed and could listen beyond loopback",
           "-daemonize": "QEMU must stay bootlab's child"}


SMP_MAX = 255                   # QEMU's pc machine: at most 255 CPUs


class BadOption(ValueError):
    pass


def smp_count(text):
    """make's SMP=N (BOOTLAB_SMP) as a CPU count, None when not given."""
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= SMP_MAX:
        shown = text if text.isprintable() else repr(text)
        raise BadOption("SMP=%s: the number of CPUs, 1 to %d" % (shown, SMP_MAX))
    return int(text)


def smp_from_env():
    """The CPU count make's SMP= asked for (exported as BOOTLAB_SMP), or None:
    what every run that builds its own Machine passes on (-smp N)."""
    return smp_count(os.environ.get("BOOTLAB_SMP", ""))


def config_args(path=QEMU_ARGS):
    args = []
    for line in Path(path).read_text().splitlines():
        args += line.split("#", 1)[0].split()
    return args


def check_extra(words):
    """Refuse QEMU options that break the GDB link or open a network port."""
    for i, w in enumerate(words):
        name = w.split("=", 1)[0]
        if name in REFUSED:
            raise BadOption("QEMU option %s: %s" % (name, REFUSED[name]))
        if name in ("-monitor", "-serial", "-chardev", "-vnc", "-spice") and i + 1 < len(words):
            value = words[i + 1]
            if any(p in value for p in ("tcp:", "telnet:", "udp:", "websocket")) and \
                    LOOPBACK not in value and "localhost" not in value:
                raise BadOption("QEMU option %s %r would listen beyond loopback; "
                                "bind it to 127.0.0.1" % (name, value))
            if name == "-vnc" and not value.startswith(("127.0.0.1", "localhost", "unix:", "none")):
                raise BadOption("QEMU option -vnc %r would listen beyond loopback" % value)
    return words


class Machine:
    """The PC one run emulates: configs/qemu.args with this run's changes.
    boots: ("disk", path) or ("kernel", path)."""

    def __init__(self, disk=None, kernel=None, cpu=None, mem=None, smp=None, append=None,
                 initrd=None, extra=(), config=QEMU_ARGS):
        self.disk, self.kernel = disk, kernel
        self.cpu, self.mem, self.smp = cpu, mem, smp
        self.append, self.initrd = append, initrd
        self.extra = check_extra(list(extra))
        self.config = config

    def args(self, drop=()):
        args = [a for a in config_args(self.config) if a not in drop]
        for option, value in (("-cpu", self.cpu), ("-m", self.mem)):
            if value:
                if option in args:
                    args[args.index(option) + 1] = str(value)
                else:
                    args += [option, str(value)]
        if self.smp:
            args += ["-smp", str(self.smp)]
        if self.kernel:
            args += ["-kernel", str(self.kernel)]
            if self.append:
                args += ["-append", self.append]
            if self.initrd:
                args += ["-initrd", str(self.initrd)]
        elif self.disk:
            args += disk_args(self.disk)
        return args + self.extra


# Guest RAM shared with the debugger (make debug): QEMU runs the guest in a
# memfd that bootlab made and hands to GDB too, so bl maps reads page tables
# straight from it instead of through the monitor (gdbext/guestram.py).
RAM_BACKEND = "bootlab-ram"
# Options of QEMU_ARGS that give the machine another memory layout: then the
# RAM is not shared (the layout below is the i440FX PC's of configs/qemu.args).
MEMORY_OPTIONS = ("-m", "-M", "-machine", "-object", "-numa", "-mem-path", "-mem-prealloc")
MEM_SIZE = re.compile(r"^(\d+)([KMGT]?)B?$", re.I)
MEM_UNITS = {"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def ram_bytes(machine):
    """The guest's RAM size in bytes when it can be shared as one file in
    the usual layout, else None."""
    if any(w.split("=", 1)[0] in MEMORY_OPTIONS for w in machine.extra):
        return None
    args = machine.args()
    if "-m" not in args or args.count("-machine") != 1 or \
            args[args.index("-machine") + 1] != "pc":
        return None
    m = MEM_SIZE.match(args[args.index("-m") + 1])
    return int(m.group(1)) * MEM_UNITS[m.group(2).upper()] if m else None


# Where the i440FX PC puts its RAM: guest-physical address = offset in the
# RAM's file below the legacy video/ROM hole, and from 1 MiB up to the 3 GiB
# mark (a PC with 3.5 GiB or more has the rest above 4 GiB).
LOW_RAM_END = 0xa0000        # then VGA memory and ROMs (not RAM to the CPU) up to 1 MiB
HIGH_RAM_START = 0x100000
LOW_MEMORY_MAX = 0xc0000000


def ram_file_offset(addr, n, size):
    """The offset in a shared RAM file of `size` bytes of the n bytes at
    guest-physical addr, or None when they are not all RAM at their own
    offset there."""
    end = addr + n
    if end <= min(LOW_RAM_END, size) or (HIGH_RAM_START <= addr and
                                         end <= min(LOW_MEMORY_MAX, size)):
        return addr
    return None


def shared_ram_args(fd, size):
    """The guest's RAM in the file behind descriptor fd (a memfd), shared:
    the same pages QEMU's CPU reads and writes."""
    return ["-object", "memory-backend-file,id=%s,size=%d,mem-path=/proc/self/fd/%d,share=on"
            % (RAM_BACKEND, size, fd), "-machine", "memory-backend=" + RAM_BACKEND]


def disk_args(image):
    """The image as the IDE disk; snapshot=on keeps runs from writing to (and
    locking) the shared image, so any number of them can boot it at once.
    QEMU's -drive splits on ',': a comma in the path is doubled."""
    return ["-drive", "file=%s,format=raw,if=ide,snapshot=on" % str(image).replace(",", ",,")]


def qemu(machine, display="none", debugcon=None, debug_exit=False, gdb_fd=None, paused=None,
         drop=(), extra=()):
    """QEMU's argv. gdb_fd: a listening socket's descriptor for the gdbstub
    (then the CPU starts paused, -S, unless paused=False)."""
    args = [QEMU, *machine.args(drop)]
    if display:
        args += ["-display", display]
    if debugcon == "stdio":
        args += ["-debugcon", "stdio"]
    elif debugcon:
        args += ["-debugcon", "file:%s" % str(debugcon).replace(",", ",,")]
    if debug_exit:
        args += DEBUG_EXIT
    if gdb_fd is not None:
        args += gdbstub_args(gdb_fd)
        if paused is None:
            paused = True
    if paused:
        args.append("-S")
    return args + list(extra)


def gdbstub_args(fd):
    # nodelay: QEMU acks a packet and sends its reply in two writes; with
    # Nagle on, the reply waits for the ack's TCP ACK (40 ms delayed ACK).
    return ["-chardev", "socket,id=bootlab-gdb,fd=%d,server=on,wait=off,nodelay=on" % fd,
            "-gdb", "chardev:bootlab-gdb"]


def gdb_target(port, host=LOOPBACK):
    return "target remote %s:%d" % (host, port)


def symbol_commands(paths):
    """add-symbol-file lines for FILE or FILE@OFFSET (moves the addresses by
    OFFSET, for code that runs elsewhere than it was linked). add-symbol-file,
    not `file`: `file` on a 32-bit ELF would fix GDB's architecture to i386,
    and the 64-bit target description QEMU sends would then be refused."""
    out = []
    for p in paths:
        path, _, offset = str(p).partition("@")
        out.append("add-symbol-file %s%s" % (gdb_quote(path), " -o %s" % offset if offset else ""))
    return out


def gdb_quote(text):
    """A file name as GDB's command line parser reads it (quotes for blanks)."""
    if text and all(c not in text for c in " \t'\"\\"):
        return text
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def gdb(setup=True, symbols=(), commands=(), batch=False, quiet=True):
    """GDB's argv: the lab's setup (extension, settings), symbol files, then
    each command with -ex."""
    args = [GDB, "-nx"]
    if quiet:
        args.append("-q")
    if batch:
        args.append("-batch")
    if setup:
        args += ["-x", str(GDB_SETUP)]
    for line in symbol_commands(symbols) + list(commands):
        args += ["-ex", line]
    return args


def shell_words(text):
    """QEMU_ARGS='-cpu max -smp 2' as a list, or BadOption for bad quoting."""
    try:
        return shlex.split(text)
    except ValueError as e:
        raise BadOption("QEMU_ARGS: %s" % e) from None


def main(argv):
    """python3 -m bootlab.qemu.cmdline check-smp VALUE: exit status 1, and
    the one-line reason on stderr, unless VALUE is a CPU count. The build
    (tools/genconfig.sh) asks before it builds the SMP kernel for SMP=."""
    if len(argv) != 2 or argv[0] != "check-smp":
        print("usage: python3 -m bootlab.qemu.cmdline check-smp VALUE", file=sys.stderr)
        return 2
    try:
        smp_count(argv[1])
    except BadOption as e:
        print("bootlab: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
