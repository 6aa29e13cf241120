"""Which machines share their RAM with GDB, and where an address sits in
the shared file (bootlab.qemu.cmdline; the GDB side is gdbext/guestram.py)."""
from bootlab.qemu import cmdline

MiB, GiB = 1 << 20, 1 << 30


def test_the_lab_pc_shares_its_ram_at_its_size():
    assert cmdline.ram_bytes(cmdline.Machine()) == 128 * MiB       # configs/qemu.args
    assert cmdline.ram_bytes(cmdline.Machine(mem="2G")) == 2 * GiB
    assert cmdline.ram_bytes(cmdline.Machine(mem="512")) == 512 * MiB   # QEMU's unit: MiB


def test_another_memory_layout_does_not_share():
    for extra in (["-m", "256M"], ["-machine", "q35"], ["-M", "q35"],
                  ["-object", "memory-backend-ram,id=m,size=128M"], ["-numa", "node"]):
        assert cmdline.ram_bytes(cmdline.Machine(extra=extra)) is None, extra
    assert cmdline.ram_bytes(cmdline.Machine(mem="1.5G")) is None      # a size not parsed


def test_an_address_is_its_own_offset_only_in_ram():
    size = 128 * MiB
    assert cmdline.ram_file_offset(0x7c00, 512, size) == 0x7c00
    assert cmdline.ram_file_offset(0x100000, 8 * MiB, size) == 0x100000
    assert cmdline.ram_file_offset(0xb8000, 2, size) is None            # VGA memory
    assert cmdline.ram_file_offset(0x9fff0, 0x20, size) is None         # runs into the hole
    assert cmdline.ram_file_offset(0xf0000, 16, size) is None           # the BIOS ROM
    assert cmdline.ram_file_offset(size - 8, 16, size) is None          # past the RAM's end
    assert cmdline.ram_file_offset(0xc0000000, 16, 4 * GiB) is None     # may be above 4 GiB
