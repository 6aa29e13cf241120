"""Drive real GDB with the bootlab extension against a real QEMU, the way a
learner does, and hand back what they would see.

QEMU is started paused with its gdbstub on loopback (bootlab.session), the
machine of configs/qemu.args (bootlab.qemu.cmdline, as every run of the lab),
and GDB attaches to it. Every run is bounded by a timeout.
"""
import re
import subprocess
import tempfile
from pathlib import Path

from bootlab import guest, proc, session
from bootlab.qemu import cmdline

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "debug" / "gdb" / "bootlab.py"
GUESTS = Path(__file__).resolve().parent
MARK = "@@@bl@@@ "

# A Python helper defined inside GDB: print a marker, run one command, and
# turn a GDB error into one "ERROR: ..." line so the script goes on.
_HELPER = '''python
def _bl_run(cmd):
    print("%s" + cmd, flush=True)
    try:
        gdb.execute(cmd)
    except gdb.error as e:
        print("ERROR: %%s" %% e, flush=True)
end''' % MARK


def build_guest(name, outdir):
    """Assemble tests/guests/NAME.asm into OUTDIR; returns (image, {label: address})."""
    return guest.build(name, outdir)


class Transcript:
    """GDB's output, cut into (command, output) pairs."""

    def __init__(self, text):
        self.text = text
        self.pairs = []
        chunks = text.split(MARK)
        self.preamble = chunks[0]
        for chunk in chunks[1:]:
            cmd, _, out = chunk.partition("\n")
            self.pairs.append((cmd, out))

    def out(self, cmd, nth=0):
        """Output of the nth run of `cmd`."""
        found = [out for c, out in self.pairs if c == cmd]
        assert len(found) > nth, "command %r not run; transcript:\n%s" % (cmd, self.text)
        return found[nth]

    def __str__(self):
        return self.text


def run_gdb(image, commands, setup=(), timeout=60, live=True, extra_qemu=(), cpu=None):
    """Run `commands` (CLI lines, each through _bl_run) in GDB with the
    extension loaded; `setup` lines run before connecting. Returns a Transcript."""
    lines = ["set pagination off", "set confirm off", "set width 0", "set height 0",
             "source %s" % EXTENSION, _HELPER]
    lines += ["python _bl_run(%r)" % c for c in setup]
    with tempfile.TemporaryDirectory(prefix="bootlab-gdb-") as tmp:
        script = Path(tmp) / "commands.gdb"
        argv = ["gdb", "-nx", "-batch", "-x", str(script)]
        if not live:
            script.write_text("\n".join(lines) + "\n")
            return Transcript(proc.run(argv, timeout).output)
        machine = cmdline.Machine(disk=image, cpu=cpu, extra=extra_qemu)
        with session.Qemu(lambda fd: cmdline.qemu(machine, gdb_fd=fd),
                          Path(tmp) / "qemu.log") as qemu:
            lines.append(qemu.target)
            lines += ["python _bl_run(%r)" % c for c in commands]
            lines.append("python _bl_run('kill')")
            script.write_text("\n".join(lines) + "\n")
            result = session.batch_gdb(qemu, argv, timeout)
    return Transcript(result.output)


def monitor_registers(text):
    """{name: value} for the NAME=hex fields of `monitor info registers`."""
    return dict(re.findall(r"\b([A-Z][A-Z0-9]*)\s*=\s*([0-9a-f]+)\b", text))


# ---- Comparing with objdump -------------------------------------------------

_NUM = re.compile(r"(?<![%\w])(0x[0-9a-f]+|\d+)\b")


def objdump_insns(image, base, start, count, machine):
    """(address, mnemonic, operands) of `count` instructions of the raw image
    loaded at `base`, decoded by objdump from `start`."""
    out = subprocess.run(["objdump", "-D", "-b", "binary", "-m", machine,
                          "--adjust-vma=0x%x" % base, "--start-address=0x%x" % start,
                          str(image)], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    insns = []
    for line in out.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\t[0-9a-f ]+\t(\S+)\s*(.*)$", line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
        if len(insns) == count:
            break
    return insns


def gdb_insns(text):
    """(address, mnemonic, operands) from GDB's `x/Ni` output."""
    insns = []
    for line in text.splitlines():
        m = re.match(r"^(?:=>)?\s*0x([0-9a-f]+)(?: <[^>]*>)?:\t(\S+)\s*(.*)$", line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return insns


def same_mnemonic(a, b):
    """Equal up to an AT&T size suffix (movw/mov, ljmpw/ljmp, movabsq/movabs)."""
    return a == b or (a[:-1] == b and a[-1] in "bwlq") or (b[:-1] == a and b[-1] in "bwlq")


def operand_facts(ops):
    """What must agree between two decoders: registers and numbers used."""
    # bootlab adds where a 16-bit branch lands as seg:off, " (07c0:0025)":
    # objdump has no such note.
    ops = re.sub(r"<[^>]*>|\([0-9a-f]{4}:[0-9a-f]{4}\)", "", ops).lower()
    regs = set(re.findall(r"%(\w+)", ops))
    nums = {int(n, 0) for n in _NUM.findall(ops)}
    return regs, nums
