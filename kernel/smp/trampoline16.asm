; trampoline16.asm: an AP's real mode -> 32-bit protected mode.
;
; Who jumps here: nobody. smp.c copied this section to TRAMPOLINE_ADDR and
; sent this CPU INIT, then a Start-Up IPI with vector TRAMPOLINE_VECTOR; the
; CPU leaves its wait-for-SIPI state and starts here (SDM Vol. 3A 8.4.4.1,
; 10.6.1).
; On entry: real mode, CS = vector << 8 = TRAMPOLINE_SEG (base TRAMPOLINE_ADDR),
;   IP = 0, DS = ES = SS = 0, interrupts off; the rest as INIT leaves it
;   (SDM Table 9-1): no stack, CR0.PE = PG = 0. The BSP waits meanwhile.
; On exit (far jump to ap_pm_entry, trampoline32.asm): protected mode, CS =
;   SEL_CODE32 of the BSP's own GDT, interrupts off, paging off; DS/ES/SS
;   still hold their real-mode caches.
;
; Same steps as boot/pmode.asm (SDM 9.9.1), with the BSP's GDT: the BSP
; left its GDTR in the mailbox below, and every CPU uses the one table.
; It only holds flat code and data descriptors, which the CPUs only read.
; (A TSS, one per CPU, would need a descriptor of its own per CPU: this
; kernel loads none.)

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .trampoline progbits alloc exec write

extern ap_pm_entry

global ap_start
ap_start: MAGIC_BREAK
    cli                        ; INIT cleared IF already; nothing may interrupt the switch
    ; CS:IP = 0a00:0000. Like boot.asm, make CS = 0 so that IP is the linear
    ; address the code was linked at (and GDB's breakpoints agree with IP).
    jmp 0:.normalized
.normalized:
    xor ax, ax                 ; INIT left DS = 0 too (Table 9-1); the code below needs it
    mov ds, ax
    ; o32: a 32-bit base (with 16-bit operands LGDT would load only 24 bits).
    o32 lgdt [ap_mailbox + AP_MB_GDTR]
global ap_gdt_loaded
ap_gdt_loaded: MAGIC_BREAK
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
global ap_pe_set
ap_pe_set: MAGIC_BREAK            ; PE=1, CS still has its real-mode cache
    jmp dword SEL_CODE32:ap_pm_entry

; The BSP fills this in (smp.c, struct ap_mailbox) for each AP it starts.
align 8
global ap_mailbox
ap_mailbox:
    times AP_MB_SIZE db 0
