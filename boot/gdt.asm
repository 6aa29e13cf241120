; gdt.asm: the global descriptor table used from protected mode on.
;
; Loaded with LGDT by pmode.asm; the kernel keeps using it. Flat segments:
; base 0 and a 4 GiB limit, so a selector only chooses the mode (32- or
; 64-bit code) and the permissions, never an offset. In long mode the CPU
; ignores base and limit of CS/DS/SS anyway (SDM Vol. 3A 3.4.4).

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .data16 progbits alloc noexec write

FLAT_LIMIT equ 0xfffff         ; 2^20 units of 4 KiB (SEG_GRAN4K) = 4 GiB
CODE equ SEG_PRESENT | SEG_DPL0 | SEG_CODE_DATA | SEG_EXEC | SEG_RW
DATA equ SEG_PRESENT | SEG_DPL0 | SEG_CODE_DATA | SEG_RW

align 8
global gdt
gdt:
    GDT_ENTRY 0, 0, 0, 0                          ; SEL_NULL: required, unusable
.code32:
%ifdef BUG_GDT_LIMIT           ; lab bug (lab/13): limit left 0, so G=1 makes it 4 KiB
    GDT_ENTRY 0, 0, CODE, SEG_GRAN4K | SEG_DB32
%else
    GDT_ENTRY 0, FLAT_LIMIT, CODE, SEG_GRAN4K | SEG_DB32
%endif
.data32:
    GDT_ENTRY 0, FLAT_LIMIT, DATA, SEG_GRAN4K | SEG_DB32
.code64:
    GDT_ENTRY 0, FLAT_LIMIT, CODE, SEG_GRAN4K | SEG_LONG  ; L=1 requires D=0
.data64:
    GDT_ENTRY 0, FLAT_LIMIT, DATA, SEG_GRAN4K | SEG_DB32
.end:

; The selectors in bootlab.h are these offsets; the build fails if they drift.
ASSERT_EQUAL gdt.code32 - gdt, SEL_CODE32
ASSERT_EQUAL gdt.data32 - gdt, SEL_DATA32
ASSERT_EQUAL gdt.code64 - gdt, SEL_CODE64
ASSERT_EQUAL gdt.data64 - gdt, SEL_DATA64
ASSERT_EQUAL gdt.end - gdt, GDT_ENTRIES * 8

; The 6-byte operand of LGDT: limit (size - 1), then the linear base.
global gdt_descriptor
gdt_descriptor:
    dw gdt.end - gdt - 1
    dd gdt
