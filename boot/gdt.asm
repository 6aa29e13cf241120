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

FLAT_LIMIT equ DESC_LIMIT_MAX  ; 2^20 units of 4 KiB (DESC_G) = 4 GiB
; Ring 0 (DPL 0: no DESC_DPL bits), present, code/data (S); code readable.
CODE equ DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_RW | DESC_G
DATA equ DESC_P | DESC_S | DESC_TYPE_RW | DESC_G

align 8
global gdt
gdt:
    GDT_ENTRY 0, 0, 0                             ; SEL_NULL: required, unusable
.code32:
%ifdef BUG_GDT_LIMIT           ; lab bug (lab/13): limit left 0, so G=1 makes it 4 KiB
    GDT_ENTRY 0, 0, CODE | DESC_DB
%else
    GDT_ENTRY 0, FLAT_LIMIT, CODE | DESC_DB
%endif
.data32:
    GDT_ENTRY 0, FLAT_LIMIT, DATA | DESC_DB
.code64:
    GDT_ENTRY 0, FLAT_LIMIT, CODE | DESC_L  ; L=1 requires D=0
.data64:
    GDT_ENTRY 0, FLAT_LIMIT, DATA | DESC_DB
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
