; multiboot.asm: "someone else's kernel" for the KERNEL= tests: a Multiboot
; (version 1) kernel that QEMU's -kernel loads, which writes one line to the
; VGA text screen and to port 0xE9, then halts.
;
; Entry (Multiboot Specification 0.6.96, 3.2 "Machine state"): 32-bit
; protected mode, paging off, interrupts off, CS/DS flat 4 GiB segments of
; the loader's own GDT, EAX = 0x2BADB002, EBX = the Multiboot information.
; There is no stack: the code below never pushes.
; Exit: never; halts at mb_done with interrupts off.
;
; One source, two formats; the code sits at the same addresses in both, so
; the ELF's symbols also name the flat binary's code:
;   nasm -f elf32 ... ; ld -m elf_i386 -Ttext 0x100000 -e mb_entry
;       an ELF32 kernel: the loader follows its program headers and jumps to
;       e_entry (header flags bit 16 clear)
;   nasm -f bin -DAOUT_KLUDGE ...
;       a flat binary: the header's address fields say where to load it and
;       where to jump (flags bit 16, the "a.out kludge"; spec 3.1.3)
;
; Labels the tests use: mb_entry, mb_print, mb_done.

MB_HEADER_MAGIC  equ 0x1badb002             ; spec 3.1.2
MB_LOADER_MAGIC  equ 0x2badb002             ; in EAX at entry (spec 3.2)
MB_ADDRESS_VALID equ 1 << 16                ; header address fields are valid
LOAD_ADDR        equ 0x100000               ; 1 MiB: above the BIOS and VGA areas
VGA_TEXT         equ 0xb8000
VGA_ATTR         equ 0x2f                   ; white on green
PORT_DEBUGCON    equ 0xe9                   ; QEMU -debugcon, Bochs port_e9_hack

%ifdef AOUT_KLUDGE
MB_FLAGS         equ MB_ADDRESS_VALID
        org LOAD_ADDR
%else
MB_FLAGS         equ 0
        section .text
%endif
        bits 32

; The header must lie 4-byte aligned in the file's first 8192 bytes (3.1.1).
mb_header:
        dd MB_HEADER_MAGIC
        dd MB_FLAGS
        dd -(MB_HEADER_MAGIC + MB_FLAGS)    ; the three fields sum to 0
        ; Address fields (3.1.3): used only with MB_ADDRESS_VALID.
        dd mb_header                        ; header_addr: where this header lands
        dd LOAD_ADDR                        ; load_addr: file offset 0 goes here
        dd 0                                ; load_end_addr 0: load the whole file
        dd 0                                ; bss_end_addr 0: no .bss to clear
        dd mb_entry                         ; entry_addr

        global mb_entry                     ; the ELF entry point (ld -e)
mb_entry:
        cmp eax, MB_LOADER_MAGIC
        jne mb_done                         ; not loaded by a Multiboot loader
        mov esi, message
        mov edi, VGA_TEXT
        mov ah, VGA_ATTR
mb_print:
        lodsb
        test al, al
        jz mb_done
        out PORT_DEBUGCON, al
        stosw                               ; character and attribute
        jmp mb_print
mb_done:
        cli
        hlt
        jmp mb_done

message:
        db "multiboot guest: hello from 32-bit protected mode", 0
