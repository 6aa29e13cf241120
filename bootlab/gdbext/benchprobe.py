# bench_gdb.py: measurements taken inside GDB for tools/bench.py.
# Prints one line "BENCH name value" per figure.
import re
import statistics

import gdb

STEPS = 100


gdb.execute("break pm_entry", to_string=True)
gdb.execute("continue", to_string=True)

# Context display: after each of STEPS stepi (display off, so every state
# read is fresh), show it on demand; `bl context` reports its own cost.
gdb.execute("set bootlab context off")
costs = []
for _ in range(STEPS):
    gdb.execute("stepi", to_string=True)
    out = gdb.execute("bl context", to_string=True)
    costs.append(float(re.search(r"context took ([\d.]+) ms", out).group(1)))
print(f"BENCH context_ms {statistics.median(costs):.1f}")

# Run-until-mode-change from here to CR0.PG, through the page-table loop.
out = gdb.execute("bl next-mode", to_string=True)
m = re.search(r"(\d+) steps in ([\d.]+) s", out)
print(f"BENCH next_mode_steps {m.group(1)}")
print(f"BENCH next_mode_rate {int(m.group(1)) / float(m.group(2)):.0f}")
gdb.execute("kill")
