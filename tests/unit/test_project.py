"""The one reader of the C headers (bootlab.header) and the project's facts
(bootlab.project), checked against the C compiler itself: GCC computes every
constant of include/bootlab.h (and x86.h) in a host program, and the reader
must find the same values."""
import os
import subprocess

import pytest

from bootlab import header, project
from bootlab.x86 import sdm


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    names = sorted(header.read(os.path.join(header.INCLUDE, "bootlab.h")))
    tmp = tmp_path_factory.mktemp("consts")
    src = tmp / "consts.c"
    src.write_text('#include <stdio.h>\n#include "bootlab.h"\nint main(void) {\n' + "".join(
        '    printf("%%s %%llu\\n", "%s", (unsigned long long)(%s));\n' % (n, n) for n in names)
        + "    return 0;\n}\n")
    exe = tmp / "consts"
    subprocess.run(["gcc", "-w", "-I", str(header.INCLUDE), "-o", str(exe), str(src)],
                   check=True, timeout=60)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=30).stdout
    return {name: int(value) for name, value in (l.split() for l in out.splitlines())}


def test_every_constant_is_what_the_compiler_computes(compiled):
    mine = header.read(os.path.join(header.INCLUDE, "bootlab.h"))
    assert len(mine) > 100
    assert {n: v & ((1 << 64) - 1) for n, v in mine.items()} == compiled


def test_sdm_names_come_from_x86_h(compiled):
    """bootlab.x86.sdm holds the architecture's bits, read from x86.h (the
    file the boot code includes): no second copy to drift."""
    for name in ("CR0_PE", "CR0_PG", "CR4_PAE", "CR4_LA57", "EFER_LMA", "DESC_L", "DESC_DB",
                 "PTE_PS", "PTE_XD", "MSR_EFER", "IDT_VECTORS"):
        assert getattr(sdm, name) == compiled[name], name


def test_bad_expressions_are_one_clear_error(tmp_path):
    h = tmp_path / "bad.h"
    h.write_text("#define A (1 << 2)\n#define B A + C\n")
    with pytest.raises(header.HeaderError, match=r"bad.h:2: C is used before it is defined"):
        header.read(h)
    h.write_text('#define A "text"\n')
    with pytest.raises(header.HeaderError, match="not an integer expression"):
        header.read(h)
