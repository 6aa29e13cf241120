; bootsector.asm: "someone else's disk" for the IMAGE= tests: a one-sector
; boot loader that writes one line to the VGA text screen and to port 0xE9,
; then halts.
;
; Entry: the BIOS jumps to 0000:7c00 in real mode, DL = boot drive.
; Exit: never; halts at bs_done with interrupts off.
;
; Assembled as ELF (nasm -f elf32 -g -F dwarf), so one build gives both the
; disk image (objcopy -O binary of the ELF linked at 0x7c00) and the symbol
; file GDB loads with it. Nothing here uses bootlab's headers: it stands for
; a system bootlab knows nothing about.
;
; Labels the tests use: bs_start, bs_print, bs_done.
        bits 16
        section .text

VGA_SEGMENT     equ 0xb800                  ; 0xb8000: the colour text buffer
VGA_ATTR        equ 0x1f                    ; white on blue
PORT_DEBUGCON   equ 0xe9                    ; QEMU -debugcon, Bochs port_e9_hack
SECTOR_SIZE     equ 512
BOOT_SIGNATURE  equ 0xaa55                  ; bytes 0x55 0xaa at offsets 510-511

        global bs_start
bs_start:
        cli
        xor ax, ax
        mov ds, ax
        mov ax, VGA_SEGMENT
        mov es, ax
        xor di, di
        mov si, message
        mov ah, VGA_ATTR
bs_print:
        lodsb
        test al, al
        jz bs_done
        out PORT_DEBUGCON, al
        stosw                               ; character and attribute
        jmp bs_print
bs_done:
        hlt
        jmp bs_done

message:
        db "boot sector guest: hello from real mode", 0

        times SECTOR_SIZE - 2 - ($ - $$) db 0
        dw BOOT_SIGNATURE
