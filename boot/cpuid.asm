; cpuid.asm: make sure this CPU can run 64-bit code before switching modes.
;
; Who calls: stage2.asm. On entry and exit: real mode, CS = DS = 0.
; Out: returns only when CPUID reports long mode (EDX bit 29 of leaf
;   80000001h, SDM Vol. 2A "CPUID"); otherwise prints why and stops.
; Clobbers: EAX, EBX, ECX, EDX.
;
; Why here: in real mode the BIOS can still print the explanation. Setting
; EFER.LME on a CPU without long mode would raise #GP with no handler: a
; triple fault, i.e. a silent reboot loop.

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .text16 progbits alloc exec nowrite

extern boot_fail

global check_long_mode
check_long_mode:
    ; CPUID exists when EFLAGS.ID can be toggled (SDM Vol. 1 20.1.1).
    pushfd
    pop eax
    mov ecx, eax
    xor eax, EFLAGS_ID
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd                      ; restore the original flags
    xor eax, ecx
    jz no_long_mode           ; ID did not change: a 486 or older

    mov eax, CPUID_EXT_MAX     ; highest extended leaf
    cpuid
    cmp eax, CPUID_EXT_FEATURES
    jb no_long_mode
    mov eax, CPUID_EXT_FEATURES
    cpuid
    test edx, CPUID_EDX_LM
    jz no_long_mode
global long_mode_supported
long_mode_supported: MAGIC_BREAK
    ret

no_long_mode:
    mov si, msg_no_long_mode
    jmp boot_fail

msg_no_long_mode: db "bootlab: this CPU has no long mode (64-bit); use a 64-bit CPU model, e.g. qemu-system-x86_64 -cpu qemu64", 13, 10, 0
