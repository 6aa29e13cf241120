; realmode.asm: a one-sector guest for the GDB extension's tests.
;
; Entry: the BIOS jumps to 0000:7c00 in real mode (CS=0). The first
; instruction far-jumps to 07c0:0005, the same bytes seen through a segment
; whose base is not 0. Every address GDB shows from then on is an offset
; (IP) while breakpoints are planted at linear addresses: the case the
; extension's seg:off display and breakpoint recognition exist for.
; Exit: never; it counts in CX forever, interrupts off.
;
; Labels the tests use: start, entry, mixed, spin.
bits 16
org 0x7c00

SEG_BASE        equ 0x07c0                  ; 07c0:0000 is linear 0x7c00
DATA_WORD       equ 0x0500                  ; a free word above the BIOS data area

start:
        jmp SEG_BASE:(entry - $$)           ; reload CS: base becomes 0x7c00
entry:
        cli
        mov ax, cs
        mov ds, ax
        xor cx, cx
mixed:                                      ; bytes that decode differently as
        mov eax, 0x12345678                 ; 16-, 32- and 64-bit code (0x66 prefix)
        mov [DATA_WORD], ax
        lea si, [bx + si + 4]
        push word 0x1234
        pop dx
        add ax, [bp + di - 2]
        call near touch
spin:
        inc cx
        jmp spin

touch:
        ret

times 510 - ($ - $$) db 0
dw 0xaa55
