; entry64.asm: the first 64-bit instructions; linked into the kernel.
;
; Who jumps here: lmode.asm, with a far jump through SEL_CODE64. The kernel's
; linker script puts this section first, at KERNEL_ADDR.
; On entry: 64-bit mode, paging on (first 1 GiB identity-mapped), interrupts
;   off, DS/ES/SS holding 32-bit data selectors, RSP = the 32-bit stack.
; On exit (call kmain): data segments = SEL_DATA64, RSP = top of the kernel's
;   own stack (16-byte aligned, as the System V AMD64 ABI wants at a call),
;   .bss zeroed, RDI = the boot_info pointer (first integer argument).

%include "bootlab.inc"
%include "macros.inc"

bits 64
section .text.entry progbits alloc exec nowrite

extern kmain, kernel_stack_top, __bss_start, __bss_end

global lm_entry
lm_entry: MAGIC_BREAK
    mov ax, SEL_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax                 ; FS/GS: unused; their bases come from MSRs
    mov fs, ax
    mov gs, ax
    mov rsp, kernel_stack_top

    ; Nobody loaded .bss from disk (the image ends before it): clear it, C
    ; expects zeroed globals.
    mov rdi, __bss_start
    mov rcx, __bss_end
    sub rcx, rdi
    xor eax, eax
    rep stosb

    mov edi, BOOT_INFO_ADDR
    xor ebp, ebp               ; frame pointer 0: debuggers end a backtrace here
    call kmain
.halt:                         ; kmain does not return; if it did, stop here
    cli
    hlt
    jmp .halt
