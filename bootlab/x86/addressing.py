"""Where the CPU fetches from: CS:IP, the linear address, and how a debugger
shows both.

The instruction pointer is an offset into CS (SDM 3.4.2): the CPU fetches at
CS.base + IP, and a relative jump or call adds its displacement to the IP,
wrapping at the operand size (64 KiB in 16-bit code, SDM Vol. 2A "JMP":
"the upper two bytes of the EIP register are cleared"). So in real mode at
CS=1020 (base 0x10200) `je +0x16` at 1020:0077 lands at 1020:008f, linear
0x1028f; never at (linear 0x10277 + 0x18) & 0xffff.
"""
from .sdm import REAL_SEG_SHIFT

ADDRESS_MASK = (1 << 64) - 1


def real_linear(seg, off):
    """seg:off in real mode: seg * 16 + off (the 20-bit address, or 21 bits
    with A20 on: FFFF:FFFF is 0x10ffef)."""
    return (seg << REAL_SEG_SHIFT) + (off & 0xffff)


def ip_mask(bits):
    return (1 << bits) - 1


def linear(cs_base, ip, bits):
    """The linear address of IP in a code segment of `bits` (64-bit mode
    ignores CS.base, SDM 3.4.4)."""
    if bits == 64:
        return ip & ADDRESS_MASK
    return (cs_base + (ip & ip_mask(bits))) & ADDRESS_MASK


def ip_of(cs_base, address, bits):
    """The offset in CS of a linear address, or None when the address is not
    reachable from CS without wrapping (below its base, or beyond what IP
    can hold)."""
    if bits == 64:
        return address
    ip = address - cs_base
    return ip if 0 <= ip <= ip_mask(bits) else None


def format_pc(selector, cs_base, ip, bits, real_like):
    """'07c0:0005 (linear 0x7c05)' in real and virtual-8086 mode,
    'cs:eip (linear ...)' in 32-bit code with CS.base != 0, else the address."""
    lin = linear(cs_base, ip, bits)
    if real_like or bits == 16:
        return "%04x:%04x (linear 0x%x)" % (selector, ip & 0xffff, lin)
    if cs_base and bits == 32:
        return "%04x:%08x (linear 0x%x)" % (selector, ip & 0xffffffff, lin)
    return "0x%x" % lin


def seg_off(selector, ip, bits):
    """'1020:008f' (16-bit code) or '0008:00009000'."""
    return "%04x:%0*x" % (selector, 4 if bits == 16 else 8, ip & ip_mask(bits))
