; a20.asm: turn on the A20 gate and prove that it is on.
;
; Who calls: stage2.asm. On entry and exit: real mode, CS = DS = ES = 0.
; Out: A20 on, boot_info.a20_method = A20_WAS_ON, A20_BY_BIOS or
;   A20_BY_FAST_PORT. Does not return when A20 stays off.
; Clobbers: AX, CX.
;
; Why: the 8086 had 20 address lines and FFFF:0010 wrapped to 0. The PC/AT
; kept that wraparound behind a gate on address line 20; until it is opened,
; every odd megabyte aliases the even one below it and the page tables and
; kernel would land in the wrong place.

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .text16 progbits alloc exec nowrite

extern boot_fail

global enable_a20
enable_a20:
%ifdef BUG_A20_RESET            ; lab bug (lab/16): straight to port 0x92, with
    in al, PORT_A20_FAST       ; "bit 1" written as the value 1, which is the
    or al, 1                   ; fast-reset bit
    out PORT_A20_FAST, al
%endif
    mov byte [BOOT_INFO_ADDR + BI_A20_METHOD], A20_WAS_ON
    call a20_is_on
    jnz .on

    ; 1. The BIOS (INT 15h AX=2401h), which knows this board's method.
    mov byte [BOOT_INFO_ADDR + BI_A20_METHOD], A20_BY_BIOS
    mov ax, BIOS_A20_ENABLE
    int BIOS_SYSTEM_INT
    call a20_is_on
    jnz .on

    ; 2. "Fast A20": bit 1 of System Control Port A. Bit 0 resets the CPU,
    ;    so read-modify-write and keep it clear.
    mov byte [BOOT_INFO_ADDR + BI_A20_METHOD], A20_BY_FAST_PORT
    in al, PORT_A20_FAST
    or al, A20_FAST_BIT
    and al, ~A20_FAST_RESET & 0xff
    out PORT_A20_FAST, al
    mov cx, A20_WAIT_LOOPS     ; the gate may take a moment to switch
.wait:
    call a20_is_on
    jnz .on
    loop .wait

    mov si, msg_a20_failed
    jmp boot_fail

.on:
global a20_enabled
a20_enabled: MAGIC_BREAK
    ret

; a20_is_on: the wraparound test. Write different words to A20_PROBE_ADDR and
; to the same address plus 1 MiB; if A20 is off the second write lands on the
; first. Out: ZF = 0 (jnz) when A20 is on. Clobbers: AX.
a20_is_on:
    push fs
    mov ax, A20_PROBE_SEG
    mov fs, ax                 ; FS, not DS: DS stays 0 for everything else
    mov word [fs:A20_PROBE_OFF], 0x0000
    mov word [A20_PROBE_ADDR], 0xa20a
    cmp word [fs:A20_PROBE_OFF], 0xa20a
    pop fs
    ret

msg_a20_failed: db "bootlab: the A20 gate could not be enabled (BIOS and port 0x92 both failed)", 13, 10, 0
