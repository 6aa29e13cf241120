; pmode.asm: real mode -> 32-bit protected mode.
;
; Who jumps here: stage2.asm, when A20 is on and long mode is known to exist.
; On entry: real mode, CS = DS = ES = SS = 0, interrupts on.
; On exit (far jump to pm_entry, pm32.asm): protected mode, CS = SEL_CODE32
;   with a 32-bit flat descriptor, interrupts off. DS/ES/SS still hold their
;   real-mode caches until pm_entry reloads them.
;
; SDM Vol. 3A 9.9.1 "Switching to Protected Mode": disable interrupts, LGDT,
; set CR0.PE, then immediately a far JMP, which reloads CS from the GDT; until
; then the CPU keeps decoding with the old real-mode CS cache (16-bit).

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .text16 progbits alloc exec nowrite

extern gdt_descriptor, pm_entry

global enter_protected_mode
enter_protected_mode:
    cli                        ; no IDT for protected mode yet: no interrupts
    lgdt [gdt_descriptor]
global gdt_loaded
gdt_loaded: MAGIC_BREAK
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
global pe_set
pe_set: MAGIC_BREAK               ; PE=1, but CS still has its real-mode cache
    jmp dword SEL_CODE32:pm_entry
