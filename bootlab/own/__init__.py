"""Someone else's disk image or kernel (make debug IMAGE=/KERNEL=): what it is,
where it gets control, and whether QEMU can boot it as given."""
