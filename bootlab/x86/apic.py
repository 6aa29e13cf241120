"""The local APIC's registers, by name, and what their bits say.

In xAPIC mode the registers are a 4 KiB page of memory-mapped registers at
the base IA32_APIC_BASE gives (0xfee00000 after reset), one 32-bit register
per 16 bytes (SDM Vol. 3A 10.4.1, Table 10-1); in x2APIC mode they are MSRs
0x800-0x8ff instead and the page is gone (10.12). Everything here works on
{offset: value} dicts, wherever the values came from: the page's bytes
(registers_from_page), or QEMU's `info lapic` (bootlab.qemu.monitor).
"""
import struct

from .sdm import (LAPIC_ID, LAPIC_VERSION, LAPIC_TPR, LAPIC_APR, LAPIC_PPR, LAPIC_LDR, LAPIC_DFR,
                  LAPIC_SVR, LAPIC_ISR, LAPIC_TMR, LAPIC_IRR, LAPIC_ESR, LAPIC_LVT_CMCI,
                  LAPIC_ICR_LOW, LAPIC_ICR_HIGH, LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF,
                  LAPIC_LVT_LINT0, LAPIC_LVT_LINT1, LAPIC_LVT_ERROR, LAPIC_TIMER_INITIAL,
                  LAPIC_TIMER_CURRENT, LAPIC_TIMER_DIVIDE, LAPIC_REG_STRIDE, LAPIC_SVR_ENABLE,
                  LAPIC_SVR_FOCUS_OFF, LAPIC_LVT_VECTOR, LAPIC_LVT_DELIVERY_SHIFT,
                  LAPIC_LVT_PENDING, LAPIC_LVT_LEVEL, LAPIC_LVT_MASKED, LAPIC_LVT_TIMER_SHIFT,
                  ICR_DEST_SHIFT, APIC_BASE_BSP, APIC_BASE_EXTD, APIC_BASE_EN,
                  APIC_BASE_ADDR_MASK, APIC_DEFAULT_BASE, PAGE_SIZE)

VECTOR_REGS = 8                      # ISR, TMR and IRR: 8 x 32 bits = 256 vectors
LVTS = {LAPIC_LVT_CMCI: "LVT CMCI", LAPIC_LVT_TIMER: "LVT Timer",
        LAPIC_LVT_THERMAL: "LVT Thermal", LAPIC_LVT_PERF: "LVT Perf",
        LAPIC_LVT_LINT0: "LVT LINT0", LAPIC_LVT_LINT1: "LVT LINT1",
        LAPIC_LVT_ERROR: "LVT Error"}
# Table 10-1, in offset order; the vector registers are shown as one line each.
REGISTERS = [(LAPIC_ID, "ID"), (LAPIC_VERSION, "Version"), (LAPIC_TPR, "TPR"),
             (LAPIC_APR, "APR"), (LAPIC_PPR, "PPR"), (LAPIC_LDR, "LDR"), (LAPIC_DFR, "DFR"),
             (LAPIC_SVR, "SVR"), (LAPIC_ESR, "ESR"), (LAPIC_LVT_CMCI, "LVT CMCI"),
             (LAPIC_ICR_LOW, "ICR low"), (LAPIC_ICR_HIGH, "ICR high"),
             (LAPIC_LVT_TIMER, "LVT Timer"), (LAPIC_LVT_THERMAL, "LVT Thermal"),
             (LAPIC_LVT_PERF, "LVT Perf"), (LAPIC_LVT_LINT0, "LVT LINT0"),
             (LAPIC_LVT_LINT1, "LVT LINT1"), (LAPIC_LVT_ERROR, "LVT Error"),
             (LAPIC_TIMER_INITIAL, "Timer initial"), (LAPIC_TIMER_CURRENT, "Timer current"),
             (LAPIC_TIMER_DIVIDE, "Timer divide")]
VECTOR_SETS = [(LAPIC_ISR, "ISR", "in service"), (LAPIC_TMR, "TMR", "level-triggered"),
               (LAPIC_IRR, "IRR", "requested")]
# SDM 10.5.1 Figure 10-8: delivery modes, timer modes.
DELIVERY = {0: "Fixed", 2: "SMI", 4: "NMI", 5: "INIT", 7: "ExtINT"}
ICR_DELIVERY = {0: "Fixed", 1: "Lowest", 2: "SMI", 4: "NMI", 5: "INIT", 6: "Start-up"}
TIMER_MODES = {0: "one-shot", 1: "periodic", 2: "TSC-deadline", 3: "reserved mode"}
ICR_SHORTHAND = {0: "", 1: "to self", 2: "to all", 3: "to all but self"}
ICR_DEST_LOGICAL = 1 << 11
ICR_LEVEL_ASSERT = 1 << 14
ICR_SHORTHAND_SHIFT = 18
ESR_BITS = [(0, "send checksum"), (1, "receive checksum"), (2, "send accept"),
            (3, "receive accept"), (4, "redirectable IPI"), (5, "send illegal vector"),
            (6, "receive illegal vector"), (7, "illegal register address")]


def registers_from_page(data):
    """{offset: value} of every register in a 4 KiB APIC page image."""
    if len(data) < PAGE_SIZE:
        raise ValueError("an APIC page is %d bytes, got %d" % (PAGE_SIZE, len(data)))
    return {off: struct.unpack_from("<I", data, off)[0]
            for off in range(0, PAGE_SIZE, LAPIC_REG_STRIDE)}


def page_is_blank(regs):
    """True when the Version register reads 0: no xAPIC answered (every local
    APIC since the P6 has a non-zero version, SDM 10.4.8), e.g. an x2APIC,
    a disabled APIC, or an emulator that answers only the CPU's own reads."""
    return not regs.get(LAPIC_VERSION)


def vectors(regs, base):
    """The vectors whose bit is set in a 256-bit register set (ISR, TMR, IRR)."""
    out = []
    for i in range(VECTOR_REGS):
        word = regs.get(base + i * LAPIC_REG_STRIDE, 0)
        out += [i * 32 + b for b in range(32) if word >> b & 1]
    return out


def base_text(msr_value):
    """IA32_APIC_BASE in words (SDM 10.4.4, Figure 10-5)."""
    words = ["base 0x%x" % (msr_value & APIC_BASE_ADDR_MASK)]
    words.append("enabled" if msr_value & APIC_BASE_EN else "globally disabled (EN=0)")
    if msr_value & APIC_BASE_EXTD:
        words.append("x2APIC mode (EXTD=1): the registers are MSRs 0x800-0x8ff")
    if msr_value & APIC_BASE_BSP:
        words.append("BSP")
    return ", ".join(words)


def _lvt(off, value):
    words = ["vector 0x%02x" % (value & LAPIC_LVT_VECTOR)]
    if off not in (LAPIC_LVT_TIMER, LAPIC_LVT_ERROR):
        words.append(DELIVERY.get((value >> LAPIC_LVT_DELIVERY_SHIFT) & 7, "reserved"))
    if off in (LAPIC_LVT_LINT0, LAPIC_LVT_LINT1):
        words.append("level" if value & LAPIC_LVT_LEVEL else "edge")
    if off == LAPIC_LVT_TIMER:
        words.append(TIMER_MODES[(value >> LAPIC_LVT_TIMER_SHIFT) & 3])
    if value & LAPIC_LVT_PENDING:
        words.append("send pending")
    words.append("masked" if value & LAPIC_LVT_MASKED else "not masked")
    return ", ".join(words)


def meaning(off, value, regs):
    """What one register's value says, in words."""
    if off in LVTS:
        return _lvt(off, value)
    if off == LAPIC_SVR:
        return "%s, spurious vector 0x%02x%s" % (
            "software-enabled (bit 8)" if value & LAPIC_SVR_ENABLE else
            "software-disabled (SVR bit 8 = 0: every LVT masked, only INIT/NMI/SMI/IPIs)",
            value & 0xff, ", focus checking off" if value & LAPIC_SVR_FOCUS_OFF else "")
    if off in (LAPIC_TPR, LAPIC_PPR, LAPIC_APR):
        return "priority class %d, subclass %d" % ((value >> 4) & 0xf, value & 0xf)
    if off == LAPIC_ID:
        return "APIC ID %d (xAPIC: bits 31:24)" % (value >> 24)
    if off == LAPIC_VERSION:
        return "version 0x%02x, %d LVT entries" % (value & 0xff, ((value >> 16) & 0xff) + 1)
    if off == LAPIC_LDR:
        return "logical APIC ID 0x%02x" % (value >> 24)
    if off == LAPIC_DFR:
        return {0xf: "flat model", 0x0: "cluster model"}.get(value >> 28, "reserved model")
    if off == LAPIC_ESR:
        return ", ".join(name for bit, name in ESR_BITS if value >> bit & 1) or "no errors"
    if off == LAPIC_ICR_LOW:
        short = ICR_SHORTHAND[(value >> ICR_SHORTHAND_SHIFT) & 3]
        high = regs.get(LAPIC_ICR_HIGH)
        dest = short or ("to %s %s" % ("logical" if value & ICR_DEST_LOGICAL else "APIC ID",
                                        "0x%x" % (high >> ICR_DEST_SHIFT)
                                        if high is not None else "?"))
        return "last IPI: %s vector 0x%02x %s%s" % (
            ICR_DELIVERY.get((value >> LAPIC_LVT_DELIVERY_SHIFT) & 7, "reserved"),
            value & 0xff, dest, ", send pending" if value & LAPIC_LVT_PENDING else "")
    if off == LAPIC_ICR_HIGH:
        return "destination 0x%02x" % (value >> ICR_DEST_SHIFT)
    if off == LAPIC_TIMER_DIVIDE:
        code = (value & 3) | ((value >> 1) & 4)       # bits 0, 1 and 3 (Figure 10-10)
        return "divide by %d" % (1 if code == 7 else 2 << code)
    if off in (LAPIC_TIMER_INITIAL, LAPIC_TIMER_CURRENT):
        return "%d" % value
    return ""


def lines(regs):
    """The registers as `bl apic` prints them: (offset, name, value or None,
    meaning) in offset order, then the vector sets; a register missing from
    regs (not shown by where it came from) has value None."""
    out = [(off, name, regs.get(off), meaning(off, regs[off], regs) if off in regs else "")
           for off, name in REGISTERS]
    for base, name, what in VECTOR_SETS:
        text = ""
        if base in regs:
            vecs = vectors(regs, base)
            text = "%s: %s" % (what, " ".join("0x%02x" % v for v in vecs) if vecs else "none")
        out.append((base, name, None, text))
    return sorted(out, key=lambda row: row[0])


DEFAULT_BASE = APIC_DEFAULT_BASE
