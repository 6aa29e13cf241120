; pm32.asm: the first 32-bit protected-mode code.
;
; Who jumps here: pmode.asm, with a far jump through SEL_CODE32.
; On entry: protected mode, CS = SEL_CODE32 (32-bit, flat), interrupts off,
;   paging off, DS/ES/FS/GS/SS still holding their real-mode caches.
; On exit (jmp enter_long_mode, lmode.asm): all data segments = SEL_DATA32,
;   ESP = PM_STACK_TOP, identity-mapped page tables built at PML4_ADDR.

%include "bootlab.inc"
%include "macros.inc"

bits 32
section .text32 progbits alloc exec nowrite

extern build_page_tables, enter_long_mode

global pm_entry
pm_entry: MAGIC_BREAK
    ; A segment register's hidden cache is only refreshed when the register
    ; is loaded (SDM Vol. 3A 3.4.3); reload them all from the new GDT.
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, PM_STACK_TOP
    call build_page_tables     ; paging.asm
    jmp enter_long_mode        ; lmode.asm
