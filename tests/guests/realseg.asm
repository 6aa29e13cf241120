; realseg.asm: real-mode branches in a segment whose base (0x10200) is not a
; multiple of 64 KiB, so a target shown as "linear address masked to 16 bits"
; is visibly wrong: the je at 1020:0077 lands at 1020:008f = linear 0x1028f,
; not 0x028f. IP arithmetic wraps at 64 KiB (SDM Vol. 2A, Jcc/JMP/CALL
; "Operation": IF OperandSize = 16 THEN EIP <- EIP AND 0000FFFFH), and two
; jumps below cross that wrap, in each direction.
;
; Who jumps here: the BIOS, at 0000:7c00, real mode, DL = boot drive.
; start reads sectors 1-2 to 1020:0000 and sector 3 to 1020:fe00 (INT 13h
; AH=02h) and far-jumps to 1020:0000; everything after runs with CS = DS =
; SS = 0x1020, interrupts off, and ends spinning at seg_done.
;
; Label addresses (nasm's map file) are linear: the segment's sections have
; vstart = 0x10200 + offset, so IP = label - SEG_LINEAR.
;   branch             kind          lands at
;   seg_jmp_short      jmp rel8      seg_jmp_short_target
;   seg_je             je rel8       seg_je_target          (1020:0077 -> 1020:008f)
;   seg_jne_near       jne rel16     seg_jne_near_target
;   seg_call           call rel16    seg_call_target
;   seg_ret            ret           seg_after_call
;   seg_jcxz           jcxz rel8     seg_jcxz_target
;   seg_jmp_wrap_back  jmp rel16     seg_wrap_high          (1020:0191 -> 1020:fff0, IP wraps down)
;   seg_wrap_high      jmp rel8      seg_wrap_low           (1020:fff0 -> 1020:0040, IP wraps up)
;   seg_wrap_low       jmp rel16     seg_done
bits 16
org 0x7c00

SEG_CODE        equ 0x1020                  ; CS for everything after start
SEG_LINEAR      equ SEG_CODE << 4           ; its base: 0x10200
SEG_SECTORS     equ 2                       ; offsets 0x0000-0x03ff
TOP_OFFSET      equ 0xfe00                  ; one more sector: offsets 0xfe00-0xffff
TOP_LINEAR      equ SEG_LINEAR + TOP_OFFSET ; linear 0x20000
WRAP_OFFSET     equ 0xfff0                  ; seg_wrap_high
WRAP_LOW_OFFSET equ 0x0040                  ; seg_wrap_low
SEG_STACK_TOP   equ 0xf000                  ; below the top sector
BIOS_DISK_READ  equ 0x02                    ; INT 13h AH=02h, CHS read
PORT_DEBUGCON   equ 0xe9
VGA_TEXT_SEG    equ 0xb800
VGA_ATTR_ERROR  equ 0x4f                    ; white on red
OPC_JMP_SHORT   equ 0xeb                    ; JMP rel8 (SDM Vol. 2A, JMP)
OPC_JMP_NEAR    equ 0xe9                    ; JMP rel16 in 16-bit code

start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        mov ax, SEG_CODE
        mov es, ax
        mov ax, (BIOS_DISK_READ << 8) | SEG_SECTORS
        mov cx, 0x0002                      ; cylinder 0, sector 2 (1-based)
        xor dh, dh                          ; head 0; DL = boot drive from the BIOS
        xor bx, bx                          ; ES:BX = 1020:0000
        int 0x13
        jc .failed
        mov ax, (BIOS_DISK_READ << 8) | 1
        mov cx, 0x0002 + SEG_SECTORS
        mov bx, TOP_OFFSET
        int 0x13
        jc .failed
        jmp SEG_CODE:(seg_entry - SEG_LINEAR)
.failed:
        mov si, msg_disk

; fail16: SI = message (zero-terminated, DS = 0). Writes it to the debug
; console and the top line of the screen, then stops. Never returns.
fail16:
        mov ax, VGA_TEXT_SEG
        mov es, ax
        xor di, di
        mov ah, VGA_ATTR_ERROR
.next:  lodsb
        test al, al
        jz .stop
        out PORT_DEBUGCON, al
        stosw
        jmp .next
.stop:  cli
        hlt
        jmp .stop

msg_disk: db "realseg: INT 13h could not read the segment's sectors", 0

times 510 - ($ - $$) db 0
dw 0xaa55

; ---- CS = 0x1020, offsets 0x0000-0x03ff -----------------------------------
; Gaps are filled with HLT: a branch that lands in one stops there visibly.
section seg follows=.text vstart=SEG_LINEAR
seg_entry:
        mov ax, cs
        mov ds, ax
        mov ss, ax
        mov sp, SEG_STACK_TOP
seg_jmp_short:
        jmp short seg_jmp_short_target
        times WRAP_LOW_OFFSET - ($ - $$) hlt
seg_wrap_low:                               ; reached last, from 1020:fff0
        jmp near seg_done
        times 0x60 - ($ - $$) hlt
seg_jmp_short_target:
        xor ax, ax                          ; ZF = 1: the je is taken
        times 0x77 - ($ - $$) nop
seg_je:
        je seg_je_target
        times 0x8f - ($ - $$) hlt
seg_je_target:
        inc ax                              ; ZF = 0: the jne is taken
seg_jne_near:
        jne near seg_jne_near_target        ; 0F 85 rel16 (more than 127 bytes on)
        times 0x180 - ($ - $$) hlt
seg_jne_near_target:
        xor cx, cx                          ; CX = 0: the jcxz is taken
seg_call:
        call seg_call_target
seg_after_call:
        nop
seg_jcxz:
        jcxz seg_jcxz_target
        times 8 hlt
seg_jcxz_target:
        nop
seg_jmp_wrap_back:
        ; jmp near to 1020:fff0, written out: the displacement only fits
        ; modulo 64 KiB (IP + rel16 passes 0 going down), and NASM would
        ; compute it against the linear addresses of two sections.
        db OPC_JMP_NEAR
        dw (WRAP_OFFSET - ($ + 2 - $$)) & 0xffff
        times 0x200 - ($ - $$) hlt
seg_call_target:
        nop
seg_ret:
        ret
seg_done:
        cli
        jmp seg_done
        times SEG_SECTORS * 512 - ($ - $$) hlt

; ---- CS = 0x1020, offsets 0xfe00-0xffff (linear 0x20000-0x201ff) ------------
section top follows=seg vstart=TOP_LINEAR
        times WRAP_OFFSET - TOP_OFFSET - ($ - $$) hlt
seg_wrap_high:
        ; jmp short to 1020:0040: IP + 2 + rel8 passes 0xffff going up.
        db OPC_JMP_SHORT, (WRAP_LOW_OFFSET - (WRAP_OFFSET + 2)) & 0xff
        times 512 - ($ - $$) hlt

