"""Model-specific registers a debugger is asked about, and where QEMU 7.2
lets one read them.

An MSR is read with RDMSR, at CPL 0, by the CPU itself (SDM Vol. 4). QEMU's
gdbstub has no packet for that, and its x86-64 target description carries
only four MSRs as registers: IA32_EFER (`efer`), IA32_FS_BASE (`fs_base`),
IA32_GS_BASE (`gs_base`) and IA32_KERNEL_GS_BASE (`k_gs_base`). The monitor
adds none: `info registers` prints EFER (the same value), `info lapic` the
APIC's registers but not IA32_APIC_BASE, and it has no rdmsr command. So
every other MSR is unavailable here; MSRS says so for each, with why.
(A debugger could still make the guest run RDMSR for it, but that changes
the guest: its code bytes, its registers, and on a #GP its stack.)
"""
from .sdm import (MSR_EFER, MSR_TSC, MSR_APIC_BASE, MSR_SYSENTER_CS, MSR_SYSENTER_ESP,
                  MSR_SYSENTER_EIP, MSR_MISC_ENABLE, MSR_PAT, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
                  MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_TSC_AUX)

NO_STUB = "QEMU 7.2's gdbstub cannot run RDMSR and its monitor does not print it"


class Msr:
    def __init__(self, name, number, meaning, register=None, why=NO_STUB):
        self.name, self.number, self.meaning = name, number, meaning
        self.register = register        # GDB's register that holds it, or None
        self.why = None if register else why

    @property
    def available(self):
        return self.register is not None


MSRS = [
    Msr("IA32_TIME_STAMP_COUNTER", MSR_TSC, "time-stamp counter",
        why=NO_STUB + " (the monitor's `print $tsc` is not there for x86 in 7.2)"),
    Msr("IA32_APIC_BASE", MSR_APIC_BASE, "local APIC base, BSP, x2APIC and enable bits",
        why=NO_STUB + "; `info lapic` shows the APIC's registers, not this MSR "
                      "(bl apic assumes the reset value's base 0xfee00000)"),
    Msr("IA32_SYSENTER_CS", MSR_SYSENTER_CS, "SYSENTER code selector"),
    Msr("IA32_SYSENTER_ESP", MSR_SYSENTER_ESP, "SYSENTER stack pointer"),
    Msr("IA32_SYSENTER_EIP", MSR_SYSENTER_EIP, "SYSENTER entry point"),
    Msr("IA32_MISC_ENABLE", MSR_MISC_ENABLE, "miscellaneous feature enables"),
    Msr("IA32_PAT", MSR_PAT, "page attribute table"),
    Msr("IA32_EFER", MSR_EFER, "extended features: SCE LME LMA NXE", register="efer"),
    Msr("IA32_STAR", MSR_STAR, "SYSCALL/SYSRET CS and SS selectors"),
    Msr("IA32_LSTAR", MSR_LSTAR, "SYSCALL entry point in 64-bit mode"),
    Msr("IA32_CSTAR", MSR_CSTAR, "SYSCALL entry point in compatibility mode"),
    Msr("IA32_FMASK", MSR_FMASK, "RFLAGS bits SYSCALL clears"),
    Msr("IA32_FS_BASE", MSR_FS_BASE, "FS base in 64-bit mode", register="fs_base"),
    Msr("IA32_GS_BASE", MSR_GS_BASE, "GS base in 64-bit mode", register="gs_base"),
    Msr("IA32_KERNEL_GS_BASE", MSR_KERNEL_GS_BASE, "the GS base SWAPGS exchanges with "
        "IA32_GS_BASE", register="k_gs_base"),
    Msr("IA32_TSC_AUX", MSR_TSC_AUX, "RDTSCP's auxiliary value (Linux: the CPU number)"),
]
BY_NUMBER = {m.number: m for m in MSRS}
# Short names people type: EFER, FS_BASE, KERNEL_GS_BASE, APIC_BASE, LSTAR...
BY_NAME = {}
for _m in MSRS:
    BY_NAME[_m.name] = _m
    BY_NAME[_m.name[len("IA32_"):]] = _m
BY_NAME["TSC"] = BY_NAME["IA32_TIME_STAMP_COUNTER"]
BY_NAME["KGS_BASE"] = BY_NAME["K_GS_BASE"] = BY_NAME["IA32_KERNEL_GS_BASE"]


class UnknownMsr(KeyError):
    pass


def lookup(text):
    """The Msr a name (IA32_EFER, efer, lstar) or a number (0xc0000080)
    names; UnknownMsr otherwise. A number outside the table is still a
    valid question: an Msr without a name comes back, unavailable."""
    key = text.strip().upper().replace("-", "_")
    if key in BY_NAME:
        return BY_NAME[key]
    try:
        number = int(text, 0)
    except ValueError:
        raise UnknownMsr("no MSR named %r (known: %s; or give its number)"
                         % (text, ", ".join(m.name[len("IA32_"):] for m in MSRS))) from None
    if not 0 <= number <= 0xffffffff:
        raise UnknownMsr("MSR numbers are 32 bits (ECX of RDMSR); 0x%x is not one" % number)
    return BY_NUMBER.get(number) or Msr("MSR 0x%x" % number, number, "")
