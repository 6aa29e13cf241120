"""Where each register sits in a `g` reply, read from QEMU 7.2's own target
description (bootlab.gdbstub.RegisterLayout.from_target_xml, what make
trace decodes its steps with), against GDB 13's reading of the same
description over the same link (tests/fixtures/qemu-target, recorded by
its record.py)."""
from pathlib import Path

import pytest

from bootlab import gdbstub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qemu-target"


def read(annex):
    return (FIXTURES / annex).read_text()


@pytest.fixture(scope="module")
def ours():
    return gdbstub.RegisterLayout.from_target_xml(read)


def test_every_register_sits_where_gdb_puts_it(ours):
    gdb = gdbstub.RegisterLayout.from_gdb_table(read("gdb-remote-registers.txt"))
    assert len(gdb.fields) > 60
    assert ours.fields == gdb.fields


def test_commented_out_registers_are_not_in_the_layout(ours):
    # QEMU 7.2 comments out ss_base, ds_base and es_base: they are not in `g`.
    assert "<!--" in read("i386-64bit.xml") and "ds_base" in read("i386-64bit.xml")
    assert not {"ss_base", "ds_base", "es_base"} & set(ours.fields)
    assert ours.fields["fs_base"] == (164, 8)


def test_a_g_reply_decodes_by_name(ours):
    size = sum(n for _, n in ours.fields.values())
    reply = bytearray(size)
    reply[128:136] = (0x7c00).to_bytes(8, "little")          # rip
    reply[136:140] = (0x202).to_bytes(4, "little")           # eflags
    off, n = ours.fields["cr0"]
    reply[off:off + n] = (0x80000011).to_bytes(8, "little")
    regs = ours.decode(bytes(reply).hex(), ["rip", "eflags", "cr0", "cs"])
    assert regs == {"rip": 0x7c00, "eflags": 0x202, "cr0": 0x80000011, "cs": 0}


def test_regnum_and_includes_in_document_order():
    """A register without regnum takes the number after the one before it
    in the document; the `g` reply goes by number."""
    docs = {"target.xml": '<target><reg name="x" bitsize="32" regnum="2"/>'
                          '<xi:include href="a.xml"/></target>',
            "a.xml": '<feature><reg name="w" bitsize="8" regnum="0"/>'
                     '<!-- <reg name="hidden" bitsize="64"/> -->'
                     '<reg name="z" bitsize="16"/></feature>'}
    layout = gdbstub.RegisterLayout.from_target_xml(docs.__getitem__)
    assert layout.fields == {"w": (0, 1), "z": (1, 2), "x": (3, 4)}
