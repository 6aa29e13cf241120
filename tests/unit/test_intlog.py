"""lab/qemu-log.sh's counting (bootlab.qemu.intlog, bootlab.qemu.logs) on
log lines as QEMU 7.2 wrote them: a bug's triple fault in the boot code,
and one round of BUG=a20-reset's reboot loop, where the exceptions are
SeaBIOS's own (its hard reboot: port 0xcf9, then int3 with an empty IDT)."""
from bootlab.qemu import cmdline, intlog, logs

BOOT_CODE = """CPU Reset (CPU 0)
CPU Reset (CPU 0)
check_exception old: 0xffffffff new 0xe
     0: v=0e e=0000 i=0 cpl=0 IP=0008:0000000000009094 pc=0000000000009094 SP=0010:0000000000007c00 CR2=0000000000009094
check_exception old: 0xe new 0xe
     1: v=08 e=0000 i=0 cpl=0 IP=0008:0000000000009094 pc=0000000000009094 SP=0010:0000000000007c00 env->regs[R_EAX]=0000000080000011
check_exception old: 0x8 new 0xe
Triple fault
"""

SEABIOS_REBOOT = """CPU Reset (CPU 0)
EAX=00000003 EBX=000011e0 ECX=00000000 EDX=00000380
check_exception old: 0xffffffff new 0xd
     1: v=0d e=001a i=0 cpl=0 IP=0008:00000000000efaad pc=00000000000efaad SP=0010:0000000000000fc8 env->regs[R_EAX]=0000000000000006
check_exception old: 0xd new 0xd
     2: v=08 e=0000 i=0 cpl=0 IP=0008:00000000000efaad pc=00000000000efaad SP=0010:0000000000000fc8 env->regs[R_EAX]=0000000000000006
check_exception old: 0x8 new 0xd
Triple fault
CPU Reset (CPU 0)
EAX=00000006 EBX=000f3e32 ECX=00000000 EDX=00000cf9
CPU Reset (CPU 0)
"""


def test_exceptions_in_the_boot_code_are_counted_as_such():
    assert logs.exception_sites(BOOT_CODE) == [0x9094] * 3
    assert intlog.report(BOOT_CODE, "build/qemu-int.log") == [
        "qemu-log: 2 CPU resets, 3 exceptions, 1 triple fault in build/qemu-int.log"]
    assert logs.exceptions(BOOT_CODE)[0] == {"v": 0xe, "e": 0, "cs": 8, "pc": 0x9094,
                                              "cr2": 0x9094}


def test_seabios_reboot_is_said_to_be_the_bios():
    assert all(logs.in_firmware(pc) for pc in logs.exception_sites(SEABIOS_REBOOT))
    lines = intlog.report(SEABIOS_REBOOT, "build/qemu-int.log")
    assert lines[0] == "qemu-log: 3 CPU resets, 3 exceptions, 1 triple fault in build/qemu-int.log"
    assert lines[1].startswith("qemu-log: 3 of them inside the BIOS, 0 in bootlab's code")


def test_firmware_ranges():
    assert logs.in_firmware(0xfffffff0) and logs.in_firmware(0xc0000) and logs.in_firmware(0xfffff)
    assert not logs.in_firmware(0x7c00) and not logs.in_firmware(0x100000)
    assert not logs.in_firmware(0x10479)


def test_the_command_is_the_labs_machine_without_shutdown_or_reboot_stops():
    plain = intlog.command("img", "log")
    reboot = intlog.command("img", "log", reboot=True)
    assert "-no-shutdown" not in plain and "-no-reboot" in plain
    assert "-no-shutdown" not in reboot and "-no-reboot" not in reboot
    assert plain[:3] == cmdline.qemu(cmdline.Machine(disk="img"))[:3]
    for argv in (plain, reboot):
        assert argv[argv.index("-d") + 1] == "int,cpu_reset" and argv[argv.index("-D") + 1] == "log"
        assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in argv
