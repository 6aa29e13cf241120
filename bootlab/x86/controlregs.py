"""Control registers and EFER in words: the set bits by name, what changed
between two values, and what CR3 points at in each paging mode."""
from .sdm import (CR0_BITS, CR4_BITS, EFER_BITS, CR3_PWT, CR3_PCD, CR3_PCID_MASK,
                  CR3_PAE_PDPT_MASK, CR0_PG, CR4_PCIDE, CR4_PAE, EFER_LMA)

BIT_TABLES = {"cr0": CR0_BITS, "cr4": CR4_BITS, "efer": EFER_BITS}
CONTROL_REGS = ("cr0", "cr2", "cr3", "cr4", "efer")


def set_bits(value, table):
    """Names of the set bits, most significant first, e.g. 'PG ET PE'."""
    return " ".join(name for name, bit, _ in reversed(table) if value & bit)


def bit_changes(old, new, table):
    """'+PE -PG' for the named bits that differ between two values."""
    return " ".join(("+" if new & bit else "-") + name
                    for name, bit, _ in table if (old ^ new) & bit)


def describe_cr3(cr3, cr0, cr4, efer):
    if not cr0 & CR0_PG:
        return "paging off: CR3 not used"
    if cr4 & CR4_PCIDE:
        return "top table 0x%x PCID %d" % (cr3 & ~CR3_PCID_MASK, cr3 & CR3_PCID_MASK)
    if cr4 & CR4_PAE and not efer & EFER_LMA:
        return "PDPT 0x%x" % (cr3 & CR3_PAE_PDPT_MASK)
    return "top table 0x%x PWT=%d PCD=%d" % (cr3 & ~0xfff, bool(cr3 & CR3_PWT),
                                              bool(cr3 & CR3_PCD))


def summary_line(name, regs):
    """One line of `bl cr`, e.g. 'CR0  0x80000011  [ PG ET PE ]'."""
    value = regs[name]
    if name in BIT_TABLES:
        desc = "[ %s ]" % set_bits(value, BIT_TABLES[name])
    elif name == "cr2":
        desc = "last page-fault linear address"
    else:
        desc = describe_cr3(value, regs["cr0"], regs["cr4"], regs["efer"])
    width = 16 if value >> 32 else 8
    return "%-4s 0x%0*x  %s" % (name.upper(), width, value, desc)


def changes(old, new):
    """Lines 'CR0 0x10 -> 0x11  (+PE)' for each control register that differs."""
    out = []
    for r in CONTROL_REGS:
        if old[r] != new[r]:
            bits = bit_changes(old[r], new[r], BIT_TABLES.get(r, ()))
            out.append("%s 0x%x -> 0x%x%s" % (r.upper(), old[r], new[r],
                                               "  (%s)" % bits if bits else ""))
    return out
