; lmode.asm: 32-bit protected mode -> 64-bit long mode.
;
; Who jumps here: pm32.asm, with the page tables built.
; On entry: 32-bit protected mode, paging off, interrupts off.
; On exit (far jump to lm_entry, kernel/entry64.asm): 64-bit mode, CS =
;   SEL_CODE64 (L=1), 4-level paging with CR3 = PML4_ADDR, EFER.LME = LMA = 1.
;
; The order is fixed by SDM Vol. 3A 9.8.5: PAE on, CR3 loaded, EFER.LME set,
; then CR0.PG. Setting PG with LME=1 makes the CPU set EFER.LMA: long mode is
; active, but CS still holds a 32-bit descriptor, so the CPU runs in
; *compatibility mode* until the far jump loads a 64-bit code segment.

%include "bootlab.inc"
%include "macros.inc"

bits 32
section .text32 progbits alloc exec nowrite

global enter_long_mode
enter_long_mode:
    mov eax, cr4
    or eax, CR4_PAE            ; long mode uses the PAE (64-bit) entry format
    mov cr4, eax
global pae_enabled
pae_enabled: MAGIC_BREAK
    mov eax, PML4_ADDR
    mov cr3, eax
global cr3_loaded
cr3_loaded: MAGIC_BREAK
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
global lme_set
lme_set: MAGIC_BREAK              ; LME=1 but LMA=0: nothing changes yet
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
global pg_set
pg_set: MAGIC_BREAK               ; LMA=1: compatibility mode (CS is 32-bit)
%ifdef BUG_LM_SELECTOR          ; lab bug (lab/14): the 32-bit code selector
    jmp SEL_CODE32:KERNEL_ADDR
%else
    jmp SEL_CODE64:KERNEL_ADDR  ; = lm_entry: kernel.ld.S puts it first and checks
%endif
