; isr.asm: entry stubs for CPU exceptions 0-31 (IDT_EXCEPTIONS).
;
; Who jumps here: the CPU, through an IDT gate (kernel/idt.c), on an exception.
; On entry: 64-bit mode, interrupts off (interrupt gate), the CPU has pushed
;   SS, RSP, RFLAGS, CS, RIP and, for some vectors, an error code
;   (SDM Vol. 3A 6.14.2, Figure 6-9).
; On exit (call exception_handler): RDI points to a struct trap_frame
;   (kernel/trap.h) holding the general registers, the vector, an error code
;   (0 when the CPU pushes none, so every frame has one shape) and the CPU's
;   frame. The handler panics and never returns.

%include "bootlab.inc"

bits 64
section .text

extern exception_handler

; Vectors for which the CPU pushes an error code (SDM Vol. 3A Table 6-1).
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign vector 0
%rep IDT_EXCEPTIONS
isr_ %+ vector:
  %if !HAS_ERROR_CODE(vector)
    push 0
  %endif
    push vector
    jmp isr_common
%assign vector vector + 1
%endrep

; The frame is 16-byte aligned at the call: the CPU aligns RSP before its
; pushes, and 5 + 1 + 1 + 15 quadwords are 22 * 8 = 176 = 11 * 16.
isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld                        ; the C ABI expects DF = 0
    call exception_handler
.halt:
    cli
    hlt
    jmp .halt

section .rodata
global isr_table
isr_table:
%assign vector 0
%rep IDT_EXCEPTIONS
    dq isr_ %+ vector
%assign vector vector + 1
%endrep
