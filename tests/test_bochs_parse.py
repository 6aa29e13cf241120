"""Bochs tooling without the boot image: the parsers on text Bochs 2.7 and
QEMU 7.2 really printed, the cross-check's verdicts on states that differ on
purpose, preflight messages, and the stale-lock rules."""
import os
import subprocess
import sys

from pathlib import Path

import pytest

from conftest import ROOT

from bootlab import project as milestones
from bootlab.bochs import crosscheck
from bootlab.bochs import driver as bochslab
from bootlab.bochs import parse as bochsparse

# Seen at pm_entry (after the magic breakpoint) in Bochs 2.7, as
# BochsSession.cont() returns it (the echoed "c" removed).
BOCHS_STOP = """00016303172: switched from 'protected mode' to 'compatibility mode'
bootlab: hi
(0) Magic breakpoint
Next at t=16303173
(0) [0x000000009003] 0008:0000000000009003 (pm_entry+3): mov ax, 0x0010            ; 66b81000
"""
BOCHS_CREG = """CR0=0x60000011: pg CD NW ac wp ne ET ts em mp PE
CR2=page fault laddr=0x0000000000000000
CR3=0x000000000000
    PCD=page-level cache disable=0
    PWT=page-level write-through=0
CR4=0x00000000: pks cet pke smap smep keylock osxsave pcid fsgsbase smx vmx la57 umip osxmmexcpt osfxsr pce pge mce pae pse de tsd pvi vme
CR8: 0x0
EFER=0x00000000: ffxsr nxe lma lme sce
"""
BOCHS_SREG = """es:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
\tData segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
cs:0x0008, dh=0x00cf9b00, dl=0x0000ffff, valid=1
\tCode segment, base=0x00000000, limit=0xffffffff, Execute/Read, Non-Conforming, Accessed, 32-bit
ss:0x0000, dh=0x00009300, dl=0x0000ffff, valid=7
\tData segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
ds:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
\tData segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
fs:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
\tData segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
gs:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
\tData segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
ldtr:0x0000, dh=0x00008200, dl=0x0000ffff, valid=1
tr:0x0000, dh=0x00008b00, dl=0x0000ffff, valid=1
gdtr:base=0x0000000000007fd0, limit=0x27
idtr:base=0x0000000000000000, limit=0x3ff
"""
# QEMU 7.2 `monitor info registers` at pm_entry (abridged: FPU/SSE cut).
QEMU_REGS = """CPU#0
EAX=00000011 EBX=00000000 ECX=00000005 EDX=2193fbfd
EIP=00009000 EFL=00000006 [-----P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300 DPL=0 DS16 [-WA]
CS =0008 00000000 ffffffff 00cf9a00 DPL=0 CS32 [-R-]
SS =0000 00000000 0000ffff 00009300 DPL=0 DS16 [-WA]
DS =0000 00000000 0000ffff 00009300 DPL=0 DS16 [-WA]
FS =0000 00000000 0000ffff 00009300 DPL=0 DS16 [-WA]
GS =0000 00000000 0000ffff 00009300 DPL=0 DS16 [-WA]
GDT=     00007fd0 00000027
IDT=     00000000 000003ff
CR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000
EFER=0000000000000000
"""
QEMU_REGS_64 = """RIP=000000000001076a RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0020 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
CS =0018 0000000000000000 ffffffff 00af9a00 DPL=0 CS64 [-R-]
SS =0020 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
DS =0020 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
GDT=     0000000000007fd0 00000027
CR0=80000011 CR2=0000000000000000 CR3=0000000000001000 CR4=00000020
EFER=0000000000000500
"""


def test_stop_report_names_place_mode_switch_and_console():
    stop = bochsparse.parse_stop(BOCHS_STOP)
    assert stop["kind"] == "magic"
    assert stop["addr"] == 0x9003 and stop["sym"] == "pm_entry+3"
    assert stop["modes"] == ["switched from 'protected mode' to 'compatibility mode'"]
    assert stop["console"] == "bootlab: hi"


def test_console_text_split_from_debugger_line():
    assert bochsparse.console_text("A(0) Magic breakpoint\nNext at t=1\n") == "A"


def test_bochs_and_qemu_parsers_give_the_same_state_at_pm_entry():
    bochs = bochsparse.state(BOCHS_CREG, BOCHS_SREG)
    qemu = crosscheck.parse_qemu_registers(QEMU_REGS)
    assert bochs["cs_mode"] == qemu["cs_mode"] == 32
    assert (bochs["gdtr_base"], bochs["gdtr_limit"]) == (0x7fd0, 0x27)
    diffs, notes = crosscheck.compare(
        {"stops": {"pm_entry": qemu}, "screen": [], "status": 0x10},
        {"stops": {"pm_entry": bochs}, "screen": [], "status": 0x10})
    assert not [d for d in diffs if d.startswith("pm_entry")]
    assert any("CD/NW" in n for n in notes)     # Bochs' BIOS leaves CR0=0x60000011


def test_qemu_long_mode_format():
    s = crosscheck.parse_qemu_registers(QEMU_REGS_64)
    assert (s["cs"], s["cs_mode"], s["efer"], s["cr3"]) == (0x18, 64, 0x500, 0x1000)


def test_cs_mode_after_pe_set_is_still_16_bit():
    # CR0.PE=1 but CS keeps its real-mode cache until the far jump.
    assert bochsparse.cs_mode(0x11, 0, 0x00009300) == 16


def fake_runs():
    state = bochsparse.state(BOCHS_CREG, BOCHS_SREG)
    stops = {name: dict(state) for name in milestones.NAMES}
    screen = ["bootlab: 64-bit kernel running in long mode", "E820 memory map, 6 entries:",
              "  0000000000000000 - 000000000009efff  usable RAM", "bootlab: all checks passed, halting."]
    return ({"stops": stops, "screen": list(screen), "status": 0x10},
            {"stops": {k: dict(v) for k, v in stops.items()}, "screen": list(screen), "status": 0x10})


def test_compare_names_each_differing_field():
    qemu, bochs = fake_runs()
    assert crosscheck.compare(qemu, bochs)[0] == []
    bochs["stops"]["pm_entry"]["cs_mode"] = 16
    bochs["stops"]["lme_set"]["efer"] = 0
    qemu["stops"]["lme_set"]["efer"] = 0x100
    bochs["screen"][0] = "bootlab: 32-bit kernel"
    diffs, _ = crosscheck.compare(qemu, bochs)
    assert "pm_entry: CS mode differs: QEMU 32-bit, Bochs 16-bit" in diffs
    assert "lme_set: EFER differs: QEMU 0x100, Bochs 0x0" in diffs
    assert any(d.startswith("screen: VGA text differs") and "32-bit kernel" in d for d in diffs)
    assert len(diffs) == 3


def test_compare_bios_differences_are_notes_unless_strict():
    qemu, bochs = fake_runs()
    bochs["screen"][1] = "E820 memory map, 7 entries:"
    bochs["stops"]["boot_start"]["gdtr_base"] = 0xf9ad7
    diffs, notes = crosscheck.compare(qemu, bochs)
    assert diffs == [] and len(notes) == 2
    diffs, _ = crosscheck.compare(qemu, bochs, strict=True)
    assert len(diffs) == 2
    # GDTR after gdt_loaded is bootlab's own: a difference there fails.
    bochs["stops"]["gdt_loaded"]["gdtr_limit"] = 0x1f
    diffs, _ = crosscheck.compare(qemu, bochs)
    assert diffs == ["gdt_loaded: GDTR limit differs: QEMU 0x27, Bochs 0x1f"]


def test_vga_lines_render_80x25():
    raw = bytearray(bochsparse.VGA_BYTES)
    for i, ch in enumerate(b"bootlab"):
        raw[2 * (80 + i)] = ch
        raw[2 * (80 + i) + 1] = 0x07
    lines = bochsparse.vga_lines(bytes(raw))
    assert len(lines) == 25 and lines[1] == "bootlab" and lines[0] == ""


def test_header_constants_come_from_bootlab_h():
    assert bochsparse.VGA_TEXT_ADDR == 0xb8000
    assert bochsparse.CR0_PG == 1 << 31


# ---- preflight -------------------------------------------------------------------

def test_missing_bios_names_the_package(tmp_path):
    with pytest.raises(bochslab.BochsError, match="bochsbios"):
        bochslab.preflight("term", bios=str(tmp_path / "BIOS-bochs-latest"))
    with pytest.raises(bochslab.BochsError, match="vgabios"):
        bochslab.preflight("term", vga_bios=str(tmp_path / "VGABIOS-lgpl-latest"))


def test_missing_display_library_names_the_package(tmp_path):
    with pytest.raises(bochslab.BochsError, match="'term' is missing.*bochs-term"):
        bochslab.preflight("term", plugin_dir=str(tmp_path))


# ---- locks -------------------------------------------------------------------------

@pytest.fixture
def locked_image(tmp_path):
    img = tmp_path / "disk.img"
    img.write_bytes(b"\0" * 512)
    (tmp_path / "disk.img.lock").write_bytes(b"")
    return img


def test_stale_lock_is_removed_with_one_line(locked_image, capsys):
    assert bochslab.clear_stale_lock(str(locked_image)) is True
    assert not os.path.exists(str(locked_image) + ".lock")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "removed stale lock" in out


def test_lock_of_a_live_process_is_left_alone(locked_image, tmp_path):
    """A Bochs (a process of that name) holding the image: the lock is real.
    (Any other holder, QEMU say, takes no lock: tests/test_robustness.py.)"""
    fake_bochs = tmp_path / "bochs-bin"
    fake_bochs.write_bytes(Path("/bin/sleep").read_bytes())
    fake_bochs.chmod(0o755)
    with open(locked_image, "rb") as f:
        holder = subprocess.Popen([str(fake_bochs), "30"], stdin=f)
    try:
        with pytest.raises(bochslab.BochsError, match=f"PID {holder.pid}"):
            bochslab.clear_stale_lock(str(locked_image))
        assert os.path.exists(str(locked_image) + ".lock")
    finally:
        holder.kill()
        holder.wait()
