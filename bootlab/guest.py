"""Flat test guests: assemble a NASM source into a disk image (`nasm -f bin`)
and read its labels from the map file NASM writes. Used by the tests, the
fixture recorder (tests/fixtures/capture.py) and `make bench` (its 4 GiB
page-table guest)."""
import re
import subprocess
from pathlib import Path

from . import project

GUESTS = project.ROOT / "tests" / "guests"
MAP_LINE = re.compile(r"^\s+([0-9A-F]+)\s+([0-9A-F]+)\s+(\S+)$")


def build(name, outdir, source_dir=GUESTS):
    """Assemble SOURCE_DIR/NAME.asm into OUTDIR; returns (image, {label: address})."""
    outdir = Path(outdir)
    image = outdir / (name + ".img")
    mapfile = outdir / (name + ".map")
    subprocess.run(["nasm", "-f", "bin", str(Path(source_dir) / (name + ".asm")), "-o", str(image),
                    "--before", "[map symbols %s]" % mapfile], check=True, timeout=30)
    labels = {}
    for line in mapfile.read_text().splitlines():
        m = MAP_LINE.match(line)
        if m:
            labels[m.group(3)] = int(m.group(2), 16)
    return image, labels
