"""The debugger-free x86 core (bootlab/x86, bootlab/qemu/monitor.py) on CPU
states recorded from real runs (tests/fixtures/, made by capture.py from
QEMU and GDB). The answers come from elsewhere than the code under test:
each fixture's hand-written `expect` block (checked against QEMU when it was
recorded), QEMU's own `gva2gpa` translations, where a real `stepi` landed,
and the monitor's view of the same registers GDB read.
No emulator runs here."""
import json
import re
from pathlib import Path

import pytest

from bootlab.qemu import monitor
from bootlab.x86 import addressing, cpu, decode, descriptors, paging
from bootlab.x86.sdm import DESC_TYPE_ACCESSED, DESC_L, EFER_LMA, CR0_PE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STATES = sorted(p for p in FIXTURES.glob("*-*.json") if not p.name.startswith("smp"))


def load(name):
    return json.loads((FIXTURES / name).read_text())


def state_of(fx):
    mon = monitor.parse(fx["monitor"])
    return cpu.CpuState(fx["regs"], mon.segs, mon.tables), mon


def ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", STATES, ids=ids(STATES))
def test_mode_and_paging_are_what_the_guest_says(path):
    fx = json.loads(path.read_text())
    st, _ = state_of(fx)
    assert st.mode.name == fx["expect"]["mode"]
    assert st.mode.paging == fx["expect"]["paging"]
    assert st.cs.selector == fx["expect"]["cs"]


@pytest.mark.parametrize("path", STATES, ids=ids(STATES))
def test_the_monitor_and_gdb_agree_on_the_registers(path):
    """Two readings of one CPU: the parser must find in the monitor's text
    what GDB's register set holds."""
    fx = json.loads(path.read_text())
    mon = monitor.parse(fx["monitor"])
    bits = 64 if fx["regs"]["efer"] & EFER_LMA else 32
    for name, value in mon.regs().items():
        assert value == fx["regs"][name] & ((1 << bits) - 1 if name in ("rip", "eflags") else -1), name
    for seg in ("SS", "DS", "ES", "FS", "GS"):
        assert mon.segs[seg].selector == fx["regs"][seg.lower()]


def test_reset_vector_state():
    """At the reset vector CS=f000 but its base is ffff0000 (SDM 9.1.4): the
    first fetch is at ffff_fff0, not f000 * 16 + fff0."""
    st, mon = state_of(load("bootlab-reset.json"))
    assert st.cs.base == 0xffff0000 and st.ip == 0xfff0
    assert st.pc_linear == 0xfffffff0
    assert st.format_pc() == "f000:fff0 (linear 0xfffffff0)"
    assert addressing.real_linear(0xf000, 0xfff0) == 0xffff0


# ---- descriptors ------------------------------------------------------------------

PROTECTED = [p for p in STATES if json.loads(p.read_text())["regs"]["cr0"] & CR0_PE]


@pytest.mark.parametrize("path", PROTECTED, ids=ids(PROTECTED))
def test_gdt_entry_of_cs_decodes_to_the_cached_descriptor(path):
    """Decoding GDT[CS] from memory gives the base, limit and attributes the
    CPU cached when CS was loaded (the accessed bit aside, which the CPU sets
    in memory): except where the guest changed the table since."""
    fx = json.loads(path.read_text())
    st, _ = state_of(fx)
    if st.cs.selector == 0:
        return      # CS still holds what real mode left (pe_set): no descriptor behind it
    gdt = bytes.fromhex(fx["gdt"]["hex"])
    sel = st.cs.selector & ~7
    low, high = int.from_bytes(gdt[sel:sel + 4], "little"), int.from_bytes(gdt[sel + 4:sel + 8], "little")
    base, limit, flags = descriptors.split(low, high)
    if fx["guest"] == "samesel" and fx["label"] == "new_gdt_loaded":
        # The table in memory was replaced after CS was loaded: the cache keeps
        # the old descriptor, and only it decides the mode.
        assert (flags ^ st.cs.flags) & DESC_L
        return
    assert (base, limit) == (st.cs.base, st.cs.limit)
    assert flags | DESC_TYPE_ACCESSED == st.cs.flags | DESC_TYPE_ACCESSED


def test_a_64bit_descriptor_outside_long_mode_is_not_called_64bit():
    """At pm_entry the lab's GDT already holds SEL_CODE64 (L=1), but the CPU is
    not in IA-32e mode, where L means nothing (SDM 5.2.1)."""
    fx = load("bootlab-pm_entry.json")
    gdt = bytes.fromhex(fx["gdt"]["hex"])
    texts = {off: text for off, _, text in descriptors.gdt_entries(gdt, long_mode=False)}
    assert "L=64-bit" not in texts[0x18]
    assert "D=16-bit L=1 (64-bit code once in long mode)" in texts[0x18]
    long_texts = {off: text for off, _, text in descriptors.gdt_entries(gdt, long_mode=True)}
    assert "L=64-bit" in long_texts[0x18]


def test_idt_and_gdt_counts_are_capped_by_the_architecture():
    """At the reset vector IDTR and GDTR hold base 0, limit 0xffff (SDM 9.1.1
    Table 9-1): an IDT can never have more than 256 vectors, and in real mode
    the table at 0 is the interrupt vector table of 4-byte entries."""
    _, mon = state_of(load("bootlab-reset.json"))
    base, limit = mon.tables["IDT"]
    assert (base, limit) == (0, 0xffff)
    assert descriptors.idt_layout(real=True, long_mode=False, limit=limit) == (4, 256)
    assert descriptors.idt_layout(real=False, long_mode=False, limit=limit) == (8, 256)
    assert descriptors.idt_layout(real=False, long_mode=True, limit=limit) == (16, 256)
    assert descriptors.gdtr_is_reset_value(*mon.tables["GDT"])
    _, mon = state_of(load("bootlab-pm_entry.json"))
    assert not descriptors.gdtr_is_reset_value(*mon.tables["GDT"])


def test_real_mode_ivt_entries():
    """The IVT at 0x7c00 (SeaBIOS's): INT 13h's vector points into the BIOS."""
    fx = load("bootlab-boot_start.json")
    ivt = bytes.fromhex(fx["idt"]["hex"])
    seg, off, lin = descriptors.ivt_entry(ivt, 0x13 * 4)
    assert seg == 0xf000 and lin == (seg << 4) + off


def test_the_ivt_read_as_a_long_mode_idt_is_not_gates():
    """At kmain the kernel has not run LIDT yet: IDTR still holds the BIOS's
    real-mode IVT (base 0, limit 0x3ff). Read as 16-byte gates, its entries
    are no gates at all: an exception now would triple-fault."""
    fx = load("bootlab-kmain.json")
    _, mon = state_of(fx)
    assert mon.tables["IDT"] == (0, 0x3ff)
    idt = bytes.fromhex(fx["idt"]["hex"])
    size, count = descriptors.idt_layout(False, True, mon.tables["IDT"][1])
    assert (size, count) == (16, 64)
    texts = [descriptors.gate_text(idt, v * size, True) for v in range(count)]
    assert all(t.startswith("not a gate (raw ") and t.endswith("raises #GP") for t in texts)


def test_a_64bit_interrupt_gate():
    """The kernel's gate layout (kernel/idt.c): handler 0x10e88, SEL_CODE64,
    present, DPL 0, interrupt gate (SDM Figure 6-8)."""
    gate = (0x0e88 | 0x18 << 16).to_bytes(4, "little") + (0x8e00 | 0x0001 << 16).to_bytes(4, "little") \
        + bytes(8)
    assert descriptors.gate_present(gate, 0)
    assert descriptors.gate_text(gate, 0, True) == "0018:0000000000010e88 int gate64 DPL=0 P"
    assert descriptors.gate_text(gate, 0, False).startswith("0018:00010e88 int gate32")


# ---- page walks -------------------------------------------------------------------

PAGED = [p for p in STATES if "translate" in json.loads(p.read_text())["expect"]]


def physical(fx):
    pages = {int(a, 16): bytes.fromhex(h) for a, h in fx["phys"].items()}

    def read(addr, n):
        data = b""
        while n > 0:        # a read of several tables spans several pages
            page = addr & ~0xfff
            if page not in pages:
                raise AssertionError("the walk read 0x%x, a page the CPU's walk never needed"
                                     % addr)
            piece = pages[page][addr - page:addr - page + n]
            data, addr, n = data + piece, addr + len(piece), n - len(piece)
        return data
    return read


@pytest.mark.parametrize("path", PAGED, ids=ids(PAGED))
def test_page_walks_agree_with_qemu(path):
    fx = json.loads(path.read_text())
    st, _ = state_of(fx)
    r = fx["regs"]
    scheme = paging.Scheme(st.mode.paging, r["cr3"], r["cr4"], r["efer"])
    read = physical(fx)
    for text, want in fx["expect"]["translate"].items():
        vaddr = int(text, 16)
        qemu_says = fx["translations"].get(text)
        try:
            w = paging.walk(scheme, vaddr, read)
            got = {"phys": w.phys, "page_size": w.size} if w.mapped else None
        except paging.NotWalkable:
            got = None
        assert got == want, text
        if qemu_says is not None:
            assert (got is None) == ("Unmapped" in qemu_says), (text, qemu_says)
            if got:
                assert int(qemu_says.split("gpa:")[1], 16) == got["phys"], (text, qemu_says)


@pytest.mark.parametrize("path", PAGED, ids=ids(PAGED))
def test_maps_cover_every_translation(path):
    """Every mapped address lies in exactly one range of the full map, at the
    right physical address; no unmapped one does."""
    fx = json.loads(path.read_text())
    st, _ = state_of(fx)
    r = fx["regs"]
    scheme = paging.Scheme(st.mode.paging, r["cr3"], r["cr4"], r["efer"])
    ranges = paging.coalesce(paging.mappings(scheme, physical(fx)))
    for text, want in fx["expect"]["translate"].items():
        vaddr = int(text, 16)
        hits = [(va, pa) for va, pa, size, _ in ranges if va <= vaddr < va + size]
        if want is None:
            assert not hits, text
        else:
            assert len(hits) == 1, text
            va, pa = hits[0]
            assert pa + (vaddr - va) == want["phys"], text


def test_maps_bound_and_range():
    fx = load("la57-lm64_la57.json")
    st, _ = state_of(fx)
    r = fx["regs"]
    scheme = paging.Scheme("5-level", r["cr3"], r["cr4"], r["efer"])
    with pytest.raises(paging.TooManyTables):
        paging.mappings(scheme, physical(fx), max_tables=2)
    high = 0xff123456789ab000
    within = paging.mappings(scheme, physical(fx), within=(high, high + 0xfff))
    assert [(va, size) for va, _, size, _ in within] == [(high, 0x1000)]


def test_regular_page_table_is_one_run():
    """A table of 512 contiguous 4 KiB pages with one set of flags is found
    as one run without a per-entry loop; a single odd entry breaks it."""
    table = bytearray(b"".join(((0x200000 + i * 0x1000) | 3).to_bytes(8, "little")
                               for i in range(512)))
    assert paging.regular(bytes(table), 8, 0x1000) == 0x200003
    table[7 * 8 + 7] |= 0x80         # entry 7's XD bit
    assert paging.regular(bytes(table), 8, 0x1000) is None
    table32 = b"".join(((0x400000 + i * 0x1000) | 7).to_bytes(4, "little") for i in range(1024))
    assert paging.regular(table32, 4, 0x1000) == 0x400007
    assert paging.regular(table32[:-4] + b"\0\0\0\0", 4, 0x1000) is None   # last not present


# ---- decoding and branch targets ---------------------------------------------------

BRANCHES = [p for p in STATES if "branch" in json.loads(p.read_text())["expect"]]


@pytest.mark.parametrize("path", BRANCHES, ids=ids(BRANCHES))
def test_real_mode_branch_targets_are_where_the_cpu_went(path):
    """realseg runs at CS=1020 (base 0x10200, not a multiple of 64 KiB). The
    target the decoder shows must be where one `stepi` took the CPU (for a
    conditional branch, where it would have gone if taken)."""
    fx = json.loads(path.read_text())
    st, _ = state_of(fx)
    code = bytes.fromhex(fx["code"]["hex"])
    insn = decode.decode(code, st.pc_linear, 16, st.cs.selector, st.cs.base)[0]
    want = fx["expect"]["branch_targets"][fx["label"]]
    if insn.relative_target() is None:        # ret: the target is on the stack
        assert fx["stepi"]["linear"] == want
        return
    assert insn.target_linear() == want
    ip = want - st.cs.base
    assert "0x%x (1020:%04x)" % (want, ip) in insn.text()
    if fx["stepi"]["linear"] != st.pc_linear + insn.size:     # the branch was taken
        assert fx["stepi"]["linear"] == want


def test_decoding_at_the_linear_address_masked_to_16_bits_would_be_wrong():
    """What went wrong before: capstone fed the linear address 0x10277 in
    16-bit mode masks IP+displacement to 16 bits: 0x28f, not 0x1028f."""
    fx = load("realseg-seg_je.json")
    code = bytes.fromhex(fx["code"]["hex"])
    naive = next(decode.decoder(16).disasm(code, fx["code"]["linear"], 1))
    assert naive.op_str == "0x28f"
    st, _ = state_of(fx)
    assert decode.decode(code, st.pc_linear, 16, st.cs.selector, st.cs.base)[0].target_linear() == 0x1028f


# ---- when the monitor must be asked again --------------------------------------------

def step(before_fx, after_fx, skip=0):
    """(before regs, the instruction that ran, after regs): the instruction at
    before's CS:IP (after `skip` bytes of no-ops, their effect on RIP added)."""
    st, _ = state_of(before_fx)
    code = bytes.fromhex(before_fx["code"]["hex"])[skip:]
    insn = decode.decode(code, st.pc_linear + skip, st.mode.bits, st.cs.selector, st.cs.base)[0]
    regs = dict(before_fx["regs"], rip=before_fx["regs"]["rip"] + skip)
    return regs, insn, after_fx["regs"]


def old_rule(before, after):
    """The rule before: ask again only when CR0, CR4, EFER, EFLAGS.VM or the
    CS selector changed."""
    return cpu.mode_key(before) != cpu.mode_key(after)


def test_far_jump_that_keeps_the_selector_is_a_mode_change():
    """samesel: LGDT of a table whose entry 0x10 is 64-bit code, then a far
    jump to 0x10:lm64. Same selector, same CR0/CR4/EFER: the old rule saw no
    reason to look, and missed the switch into 64-bit mode."""
    before_fx, after_fx = load("samesel-new_gdt_loaded.json"), load("samesel-lm64.json")
    assert bytes.fromhex(before_fx["code"]["hex"])[:2] == b"\x90\xea"   # nop; ljmp
    before, insn, after = step(before_fx, after_fx, skip=1)
    assert insn.kind == "far"
    assert not old_rule(before, after)
    assert cpu.cs_cache_may_change(before, insn, after)
    assert state_of(before_fx)[0].mode.name == "compatibility (32-bit)"
    assert state_of(after_fx)[0].mode.name == "64-bit"


def test_iretq_with_the_same_selector_reloads_cs():
    before_fx, after_fx = load("samesel-lm64.json"), load("samesel-after_iretq.json")
    code = bytes.fromhex(before_fx["code"]["hex"])
    st, _ = state_of(before_fx)
    insns = decode.decode(code, st.pc_linear, 64, count=8)
    assert any(i.mnemonic.startswith("iret") and i.may_reload_cs() for i in insns)


@pytest.mark.parametrize("label,target", [
    ("seg_je", "seg_je_target"), ("seg_jmp_short", "seg_jmp_short_target"),
    ("seg_jne_near", "seg_jne_near_target"), ("seg_call", "seg_call_target"),
    ("seg_ret", "seg_after_call"), ("seg_jcxz", "seg_jcxz_target")])
def test_a_near_branch_keeps_the_cs_cache(label, target):
    """One near jump, call or return, and the CPU is where that instruction
    takes it: nothing can have reloaded CS, no need to ask the monitor."""
    before_fx, after_fx = load("realseg-%s.json" % label), load("realseg-%s.json" % target)
    before, insn, after = step(before_fx, after_fx)
    assert (after["rip"] & 0xffff) == before_fx["stepi"]["ip"]
    assert not cpu.cs_cache_may_change(before, insn, after), insn.text()


def test_landing_elsewhere_means_something_else_happened():
    """After a `je`, a CPU found at neither successor took an exception or
    an interrupt (a handler, maybe another mode): ask again."""
    before_fx = load("realseg-seg_je.json")
    before, insn, _ = step(before_fx, before_fx)
    assert cpu.cs_cache_may_change(before, insn, dict(before, rip=0x1234))
    # A `ret` whose stack moved like an exception frame's, not like a pop.
    ret_fx = load("realseg-seg_ret.json")
    before, insn, after = step(ret_fx, load("realseg-seg_after_call.json"))
    assert cpu.cs_cache_may_change(before, insn, dict(after, rsp=before["rsp"] - 6))


def test_the_monitors_view_carries_over_only_what_one_instruction_cannot_change():
    """make trace and the stop display keep the monitor's last answer after
    a near jump that lands where it goes; a data segment register that
    changed, a segment load, a halt, or an unknown instruction mean asking
    again (monitor_view_may_change)."""
    before, insn, after = step(load("realseg-seg_je.json"), load("realseg-seg_je_target.json"))
    assert not cpu.monitor_view_may_change(before, insn, after)
    # The state after it: the same caches and mode, the new registers; what
    # the recorded stop after it shows.
    st_before, st_after = state_of(load("realseg-seg_je.json"))[0], \
        state_of(load("realseg-seg_je_target.json"))[0]
    assert st_before.mode.name == "real"        # decided: successor() passes it on
    carried = st_before.successor(after)
    assert carried.segs == st_after.segs and carried.mode == st_after.mode
    assert carried.pc_linear == st_after.pc_linear
    assert cpu.monitor_view_may_change(before, insn, dict(after, ds=after["ds"] + 1))
    assert cpu.monitor_view_may_change(before, insn, dict(after, fs_base=1))
    assert cpu.monitor_view_may_change(before, None, after)
    real = state_of(load("realseg-seg_je.json"))[0]
    for code, kind in (("8ed8", "sreg"), ("0f01163412", "table"), ("f4", "hlt")):
        other = decode.decode(bytes.fromhex(code), real.pc_linear, 16)[0]
        assert other.kind == kind, other.text()
        assert cpu.monitor_view_may_change(before, other, dict(before, rip=before["rip"] + 2))


# ---- the monitor's text ------------------------------------------------------------

def test_info_registers_of_every_cpu():
    """`info registers -a` with two CPUs: CPU 0 at 0x7c00 in real mode, CPU 1
    halted in SeaBIOS's 32-bit code (it never waits for a SIPI there)."""
    fx = load("smp2-7c00.json")
    cpus = monitor.parse_all(fx["monitor_all"])
    assert [c.cpu for c in cpus] == [0, 1]
    assert cpus[0].values["EIP"] == 0x7c00 and not cpus[0].halted
    assert cpus[1].halted and cpus[1].segs["CS"].flags & (1 << 22)     # CS32
    one = monitor.parse(fx["monitor_cpu1"])
    assert one.segs == cpus[1].segs and one.values["EIP"] == cpus[1].values["EIP"]


def test_unparseable_text_is_one_clear_error():
    with pytest.raises(monitor.MonitorError, match="cannot parse"):
        monitor.parse("Remote 'g' packet reply is too long")


def test_decoding_is_reused_only_for_the_same_bytes():
    """Instructions decoded lately are reused at the same address only while
    its bytes are the same: code written anew (self-modifying code, a newly
    loaded kernel) is decoded anew."""
    first = decode.decode(b"\x90\xc3", 0x7000, 64, count=2)
    assert [i.mnemonic for i in first] == ["nop", "retq"]
    again = decode.decode(b"\x90\xc3", 0x7000, 64, count=2)
    assert again[0] is first[0]
    changed = decode.decode(b"\xcc\xc3", 0x7000, 64, count=2)
    assert [i.mnemonic for i in changed] == ["int3", "retq"]
    longer = decode.decode(b"\x48\x89\xe5", 0x7000, 64)      # same first byte class, 3 bytes
    assert (longer[0].mnemonic, longer[0].size) == ("movq", 3)
    other_mode = decode.decode(b"\x90\xc3", 0x7000, 16, count=2)
    assert other_mode[0] is not first[0] and other_mode[0].bits == 16
