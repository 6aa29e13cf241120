; ap_entry64.asm: an AP's first 64-bit instructions, in the kernel proper.
;
; Who jumps here: trampoline32.asm, with a far jump through SEL_CODE64.
; On entry: 64-bit mode, the BSP's page tables, interrupts off, DS/ES/SS
;   holding 32-bit data selectors, no stack; the mailbox holds this AP's
;   number and stack.
; On exit (call ap_main, smp.c): data segments = SEL_DATA64, RSP = the top of
;   this AP's own stack (16-byte aligned at the call, as the ABI wants),
;   IDTR = the BSP's, EDI = the AP's number. When ap_main returns, the AP
;   parks in ap_park: interrupts off, HLT, for good.
;
; The stack is the one thing an AP must not share: every CPU pushes and
; pops at once, so each one gets AP_STACK_SIZE bytes of its own (smp.c).
; The IDT is shared, like the GDT: exceptions on this CPU reach panic.c too.

%include "bootlab.inc"
%include "macros.inc"

bits 64
section .text

extern ap_main, ap_mailbox

global ap_lm_entry
ap_lm_entry: MAGIC_BREAK
    mov ax, SEL_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax                 ; FS/GS: unused, as on the BSP
    mov fs, ax
    mov gs, ax
    lidt [ap_mailbox + AP_MB_IDTR]
    mov rsp, [ap_mailbox + AP_MB_STACK]
    mov edi, [ap_mailbox + AP_MB_CPU]
    xor ebp, ebp               ; frame pointer 0: debuggers end a backtrace here
    call ap_main
global ap_park
ap_park:                       ; only NMI, SMI or INIT wake a CPU from here
    cli
    hlt
    jmp ap_park
