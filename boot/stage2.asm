; stage2.asm: the real-mode checklist of stage 2.
;
; Who jumps here: the boot sector (boot.asm), after it loaded stage 2 and the
; kernel from disk.
; On entry: real mode, CS = DS = ES = SS = 0, SP = REAL_STACK_TOP, interrupts
;   on, boot_info.boot_drive and .kernel_sectors set.
; On exit (jmp enter_protected_mode, pmode.asm): still real mode, A20 on,
;   the E820 map in boot_info, long mode known to exist.
;
; Each step lives in a file of its own; a step that fails prints a sentence
; and stops in boot_fail (boot.asm).

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .text16 progbits alloc exec nowrite

extern enable_a20, read_e820, check_long_mode, enter_protected_mode

global stage2_start
stage2_start: MAGIC_BREAK
    mov dword [BOOT_INFO_ADDR + BI_MAGIC], BOOT_INFO_MAGIC
    call enable_a20            ; a20.asm: reach memory above 1 MiB correctly
    call read_e820             ; e820.asm: ask the BIOS where RAM is
    call check_long_mode       ; cpuid.asm: stop early on a 32-bit-only CPU
    jmp enter_protected_mode   ; pmode.asm: GDT, CR0.PE, far jump
