; pvh.asm: an ELF kernel with no Multiboot header, only a PVH entry note,
; for the KERNEL= tests: QEMU's -kernel enters such a kernel at the note's
; address (the x86/HVM direct boot ABI, Xen's docs/misc/pvh.pandoc).
;
; Entry: 32-bit protected mode, paging off, interrupts off, flat CS/DS,
; EBX = physical address of the hvm_start_info structure.
; Exit: never; writes one line to the VGA screen and port 0xE9, then halts
; at pvh_done.
;
; nasm -f elf32 -g -F dwarf; ld -m elf_i386 -Ttext 0x100000 -e pvh_entry
; (ld turns the allocated note section into a PT_NOTE program header).
;
; Labels: pvh_entry, pvh_done.
        bits 32

XEN_ELFNOTE_PHYS32_ENTRY equ 18             ; xen/include/public/elfnote.h
HVM_START_MAGIC  equ 0x336ec578             ; hvm_start_info.magic (public/arch-x86/hvm/start_info.h)
VGA_TEXT         equ 0xb8000
VGA_ATTR         equ 0x5f                   ; white on magenta
PORT_DEBUGCON    equ 0xe9

        section .note.Xen note alloc noexec nowrite align=4
        dd 4                                ; namesz ("Xen\0")
        dd 4                                ; descsz
        dd XEN_ELFNOTE_PHYS32_ENTRY         ; type
        db "Xen", 0
        dd pvh_entry                        ; desc: the 32-bit entry point

        section .text
        global pvh_entry
pvh_entry:
        cmp dword [ebx], HVM_START_MAGIC
        jne pvh_done                        ; not started as a PVH guest
        mov esi, message
        mov edi, VGA_TEXT
        mov ah, VGA_ATTR
.print:
        lodsb
        test al, al
        jz pvh_done
        out PORT_DEBUGCON, al
        stosw
        jmp .print
pvh_done:
        cli
        hlt
        jmp pvh_done

message:
        db "PVH guest: hello from 32-bit protected mode", 0
