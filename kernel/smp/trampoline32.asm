; trampoline32.asm: an AP's 32-bit protected mode -> 64-bit long mode.
;
; Who jumps here: trampoline16.asm, with a far jump through SEL_CODE32.
; On entry: protected mode, CS = SEL_CODE32 (32-bit, flat), interrupts off,
;   paging off, DS/ES/SS holding their real-mode caches.
; On exit (far jump to ap_lm_entry, ap_entry64.asm): 64-bit mode, CS =
;   SEL_CODE64, paging on with the BSP's page tables (CR3 from the mailbox),
;   EFER.LME = LMA = 1, interrupts off, still no stack.
;
; The order is boot/lmode.asm's, fixed by SDM Vol. 3A 9.8.5: PAE on, CR3
; loaded, EFER.LME set, then CR0.PG. Every CPU has its own control
; registers and its own EFER, so each AP does all of it again; the page
; tables they point to are shared: one identity-mapped address space.

%include "bootlab.inc"
%include "macros.inc"

bits 32
section .trampoline progbits alloc exec write

extern ap_lm_entry, ap_mailbox

global ap_pm_entry
ap_pm_entry: MAGIC_BREAK
    ; Segment caches refresh only when loaded (SDM 3.4.3).
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, CR4_PAE            ; long mode uses the PAE (64-bit) entry format
    mov cr4, eax
    mov eax, [ap_mailbox + AP_MB_CR3]
    mov cr3, eax               ; the BSP's PML4
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
global ap_pg_set
ap_pg_set: MAGIC_BREAK            ; LMA=1: compatibility mode (CS is 32-bit)
    jmp SEL_CODE64:ap_lm_entry
