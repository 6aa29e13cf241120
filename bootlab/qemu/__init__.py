"""QEMU as bootlab drives it: command lines, and parsers of what it prints."""
