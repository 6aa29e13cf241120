# summary.py: per-stage counts for the end of the `make trace` listing.
#
# A stage runs from one milestone (bootlab/project.py) to the
# next; the last one ends at the instruction that writes VGA memory.
from collections import Counter

TIME_NOTE = """\
instructions: bootlab's instructions as listed, one per line (a rep string
  instruction counts once; its iterations are in the next column).
BIOS instr.: what QEMU executed inside the BIOS calls (counted from its exec
  log, interrupt handlers included; it varies a little from run to run with
  the timer interrupts), or the lines stepped with BIOS=1.
host time: host wall-clock time this traced run spent in the stage. Every
  listed instruction is one single step over QEMU's gdbstub (about 0.3 ms,
  more under load), so it measures the tracing, not the guest: untraced, QEMU
  boots this image to the kernel's banner in about 0.1 s."""


class Stage:
    def __init__(self, name, mode, t0):
        self.name, self.mode, self.t0, self.t1 = name, mode, t0, t0
        self.insns = self.iterations = self.bios_calls = self.bios_insns = 0
        self.bios_unknown = False


class Summary:
    def __init__(self):
        self.stages = []
        self.services = Counter()

    def open(self, name, mode, t0):
        if self.stages:
            self.stages[-1].t1 = t0
        self.stages.append(Stage(name, mode, t0))

    def insn(self, rec):
        if not self.stages:
            self.open("(before %s)" % rec["sym"], rec["mode"], rec["t"])
        s = self.stages[-1]
        if rec.get("in_bios"):
            s.bios_insns += 1
        else:
            s.insns += 1
            s.iterations += rec.get("iterations", 0)

    def bios(self, call, service):
        s = self.stages[-1]
        s.bios_calls += 1
        self.services[service] += 1
        if call.get("shown"):
            return               # its instructions were counted one by one
        if call.get("count") is None:
            s.bios_unknown = True
        else:
            s.bios_insns += call["count"]

    def close(self, t_end):
        if self.stages:
            self.stages[-1].t1 = t_end

    def lines(self):
        head = "%-22s %-24s %12s %10s %10s %12s %10s" % (
            "stage (from symbol)", "mode at its start", "instructions", "rep iter.",
            "BIOS calls", "BIOS instr.", "host time")
        out = ["== summary ==", head]
        total = Stage("total", "", 0)
        for s in self.stages:
            out.append(self._row(s))
            for field in ("insns", "iterations", "bios_calls", "bios_insns"):
                setattr(total, field, getattr(total, field) + getattr(s, field))
            total.bios_unknown |= s.bios_unknown
        total.t0, total.t1 = (self.stages[0].t0, self.stages[-1].t1) if self.stages else (0, 0)
        out.append(self._row(total))
        out.append("")
        calls = ", ".join("%s x%d" % (k, n) for k, n in self.services.items())
        out.append("BIOS calls: %d%s" % (sum(self.services.values()),
                                          ": " + calls if calls else ""))
        out.append(TIME_NOTE)
        return out

    @staticmethod
    def _row(s):
        bios = "%d%s" % (s.bios_insns, "+?" if s.bios_unknown else "")
        return "%-22s %-24s %12d %10d %10d %12s %7.1f ms" % (
            s.name, s.mode, s.insns, s.iterations, s.bios_calls, bios, (s.t1 - s.t0) * 1000)
