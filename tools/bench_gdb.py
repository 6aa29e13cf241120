# bench_gdb.py: measurements taken inside GDB for tools/bench.py.
# Prints one line "BENCH name value" per figure.
import re
import time

import gdb

STEPS = 300


def stepi_seconds(n):
    start = time.perf_counter()
    for _ in range(n):
        gdb.execute("stepi", to_string=True)
    return time.perf_counter() - start


gdb.execute("break pm_entry", to_string=True)
gdb.execute("continue", to_string=True)

# Context display: the same stepi loop with the display on and off; the
# difference per stop is what the display costs.
gdb.execute("set bootlab context off")
plain = stepi_seconds(STEPS)
gdb.execute("set bootlab context on")
with_context = stepi_seconds(STEPS)
print(f"BENCH context_ms {(with_context - plain) / STEPS * 1000:.2f}")

# Run-until-mode-change from pm_entry + STEPS*2 to CR0.PG: the page-table loop.
out = gdb.execute("bl next-mode", to_string=True)
m = re.search(r"(\d+) steps in ([\d.]+) s", out)
print(f"BENCH next_mode_steps {m.group(1)}")
print(f"BENCH next_mode_rate {int(m.group(1)) / float(m.group(2)):.0f}")
gdb.execute("kill")
