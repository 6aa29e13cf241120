"""The core's TSS, LDT, MSR, APIC and reverse-mapping knowledge (bootlab/x86
tss.py, descriptors.py, msr.py, apic.py, paging.where; bootlab/qemu/monitor's
`info lapic` parser) on states recorded from tests/guests/systab.asm
(tests/fixtures/systab-*.json). The answers are the guest's source, written
down by hand in tests/fixtures/stops.py (each fixture's `expect`), and the
monitor's own TR=/LDT= lines. No emulator runs here."""
import json
from pathlib import Path

import pytest

from bootlab.qemu import monitor
from bootlab.x86 import apic, descriptors, msr, paging, tss
from bootlab.x86.sdm import (LAPIC_SVR, LAPIC_TPR, LAPIC_LVT_TIMER, LAPIC_LVT_LINT0, LAPIC_IRR,
                             LAPIC_ISR, MSR_EFER, MSR_APIC_BASE, PAGE_SIZE)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load(label):
    return json.loads((FIXTURES / ("systab-%s.json" % label)).read_text())


def segs(fx):
    return monitor.parse(fx["monitor"]).segs


def tss_rows(fx):
    tr = segs(fx)["TR"]
    long_mode = "CS64" in fx["monitor"]
    which, _ = tss.kind(tr.flags, long_mode)
    data = bytes.fromhex(fx["tss"]["hex"])
    return which, {name: (value, note) for name, value, note in tss.fields(data, which, tr.limit)}


@pytest.mark.parametrize("label", ["pm_tables", "lm_tables"])
def test_tss_fields_are_the_guests(label):
    fx = load(label)
    want = fx["expect"]["tss"]
    which, rows = tss_rows(fx)
    assert which == fx["expect"]["tss_kind"]
    assert segs(fx)["TR"].selector == fx["expect"]["tr"]
    for name, value in want.items():
        if name == "ports allowed":
            assert rows["I/O map base"][1].endswith("ports allowed at CPL > IOPL: " + value)
            continue
        got = rows[name][0]
        assert (list(got) if isinstance(got, tuple) else got) == value, name


def test_tss64_without_bitmap_says_so():
    _, rows = tss_rows(load("lm_tables"))
    assert rows["I/O map base"][1].startswith("past the limit 0x67: no I/O permission bitmap")
    assert "unused" not in rows["IST7"][1]


def test_tss_kinds_and_refusals():
    # A 16-bit busy TSS outside IA-32e mode; type 3 means nothing in it.
    assert tss.kind(0x8b00 & ~0x0800 | 0x0300, False) == (tss.TSS16, True)
    with pytest.raises(tss.NoTss, match="not a TSS in IA-32e mode"):
        tss.kind(0x8300, True)
    with pytest.raises(tss.NoTss, match="code/data"):
        tss.kind(0x9300, False)
    with pytest.raises(tss.NoTss, match="needs 104 bytes"):
        tss.fields(bytes(50), tss.TSS64, 49)
    # QEMU's reset TR (selector 0, base 0, limit 0xffff): no LTR yet.
    tr = segs(load("start"))["TR"]
    assert tss.tr_not_loaded(tr.selector, tr.base, tr.limit, tr.flags)


def test_ldt_entries_are_the_guests():
    for label in ("pm_tables", "lm_tables"):
        fx = load(label)
        ldtr = segs(fx)["LDT"]
        assert ldtr.selector == fx["expect"]["ldtr"] and not descriptors.ldtr_empty(
            ldtr.selector, ldtr.flags)
        data = bytes.fromhex(fx["ldt"]["hex"])
        long_mode = "CS64" in fx["monitor"]
        got = {"0x%04x" % descriptors.ldt_selector(off): text
               for off, _, text in descriptors.gdt_entries(data, long_mode, null_first=False)}
        assert got == load("pm_tables")["expect"]["ldt"]


def test_fs_loaded_from_the_ldt_has_that_descriptors_base():
    fx = load("pm_tables")
    fs = segs(fx)["FS"]
    assert fs.selector == fx["expect"]["fs"]
    entry = [t for o, _, t in descriptors.gdt_entries(bytes.fromhex(fx["ldt"]["hex"]), False,
                                                      null_first=False)
             if descriptors.ldt_selector(o, 3) == fs.selector][0]
    assert entry.startswith("base 0x%08x limit 0x%08x" % (fs.base, fs.limit))


def test_ldtr_at_reset_is_empty():
    ldtr = segs(load("start"))["LDT"]
    assert descriptors.ldtr_empty(ldtr.selector, ldtr.flags)


@pytest.mark.parametrize("label", ["pm_tables", "lm_tables"])
def test_info_lapic_gives_the_registers_the_guest_wrote(label):
    fx = load(label)
    cpu, regs = monitor.parse_lapic(fx["lapic"])
    assert cpu == 0
    names = {LAPIC_SVR: "SVR", LAPIC_TPR: "TPR", LAPIC_LVT_TIMER: "LVT Timer",
             LAPIC_LVT_LINT0: "LVT LINT0"}
    for off, name in names.items():
        assert regs[off] == fx["expect"]["apic"][name], name
    assert apic.vectors(regs, LAPIC_ISR) == [] and apic.vectors(regs, LAPIC_IRR) == []
    text = {name: meaning for _, name, _, meaning in apic.lines(regs)}
    assert text["SVR"] == "software-enabled (bit 8), spurious vector 0xff"
    assert text["LVT Timer"] == "vector 0x40, periodic, masked"
    assert text["LVT LINT0"] == "vector 0x00, ExtINT, edge, not masked"
    assert text["Timer divide"] == "divide by 2"      # QEMU: "DCR=0x0 (divide by 2)"
    assert text["ID"] == "" and text["TMR"] == ""      # QEMU does not print them


def test_apic_page_read_by_the_debugger_is_blank_under_qemu():
    """What the fixture recorded: QEMU answers the debugger's physical reads
    of the APIC page with zeros, so bl apic must ask `info lapic`."""
    regs = apic.registers_from_page(bytes.fromhex(load("pm_tables")["apic_page"]))
    assert apic.page_is_blank(regs)


def test_apic_page_decoding():
    page = bytearray(PAGE_SIZE)
    page[0x20:0x24] = (3 << 24).to_bytes(4, "little")
    page[0x30:0x34] = 0x00050014.to_bytes(4, "little")
    page[0x200 + 0x70:0x204 + 0x70] = (1 << 31).to_bytes(4, "little")   # vector 255
    regs = apic.registers_from_page(bytes(page))
    assert not apic.page_is_blank(regs)
    text = {name: meaning for _, name, _, meaning in apic.lines(regs)}
    assert text["ID"] == "APIC ID 3 (xAPIC: bits 31:24)"
    assert text["Version"] == "version 0x14, 6 LVT entries"
    assert text["IRR"] == "requested: 0xff"
    assert text["SVR"].startswith("software-disabled")
    assert apic.base_text(0xfee00900) == "base 0xfee00000, enabled, BSP"
    assert "x2APIC mode" in apic.base_text(0xfee00c00)


def test_msr_lookup():
    assert msr.lookup("efer").register == "efer"
    assert msr.lookup("IA32_EFER") is msr.lookup("0xc0000080") is msr.BY_NUMBER[MSR_EFER]
    assert msr.lookup("kernel_gs_base").register == "k_gs_base"
    apic_base = msr.lookup("apic_base")
    assert apic_base.number == MSR_APIC_BASE and not apic_base.available
    assert "0xfee00000" in apic_base.why
    assert msr.lookup("0x1234").name == "MSR 0x1234" and not msr.lookup("0x1234").available
    with pytest.raises(msr.UnknownMsr, match="no MSR named 'nope'"):
        msr.lookup("nope")
    with pytest.raises(msr.UnknownMsr, match="32 bits"):
        msr.lookup("0x100000000")
    # Exactly the four QEMU 7.2's gdbstub has as registers.
    assert sorted(m.register for m in msr.MSRS if m.available) == \
        ["efer", "fs_base", "gs_base", "k_gs_base"]


def test_where_finds_every_alias():
    maps = [(0x0, 0x0, 0x200000, (True, False, True)),
            (0x400000, 0x800000, 0x1000, (True, True, False)),
            (0xffff888000000000, 0x0, 0x40000000, (True, False, False)),
            (0xffffffff80000000, 0x0, 0x200000, (False, False, True))]
    found = paging.where(maps, 0x1234)
    assert [lin for lin, _ in found] == [0x1234, 0xffff888000001234, 0xffffffff80001234]
    assert [lin for lin, _ in paging.where(maps, 0x800fff)] == [0x400fff, 0xffff888000800fff]
    assert [lin for lin, _ in paging.where(maps, 0x40000000)] == []


def test_where_on_recorded_tables():
    """Reverse lookup over the page tables of a recorded guest, checked
    against QEMU's own gva2gpa for the same addresses."""
    fx = json.loads((FIXTURES / "modes-lm64.json").read_text())
    pages = {int(k, 16): bytes.fromhex(v) for k, v in fx["phys"].items()}

    def read(addr, n):
        base = addr & ~(PAGE_SIZE - 1)
        return pages[base][addr - base:addr - base + n]
    r = fx["regs"]
    sch = paging.Scheme("4-level", r["cr3"], r["cr4"], r["efer"])
    maps = paging.mappings(sch, read)
    for va, text in fx["translations"].items():
        if text.startswith("gpa: 0x"):
            phys = int(text.split()[1], 16)
            assert int(va, 16) in [lin for lin, _ in paging.where(maps, phys)], va
