; samesel.asm: one selector number, two descriptors. CS = 0x10 names a 32-bit
; code segment in gdt_a and a 64-bit one (L=1) in gdt_b, so the CPU changes
; mode while the value in CS stays 0x10 (a check keyed on the selector misses it).
;
;   start           real mode, CS=0; loads stage 2 (sectors 1-2) to 0x7e00 (INT 13h AH=02h)
;   pm32            protected mode, CS=0x10 from gdt_a (32-bit), paging off
;   compat          PAE + EFER.LME + CR0.PG: IA-32e mode, CS=0x10 still 32-bit
;   new_gdt_loaded  after LGDT gdt_b: entry 2 now says L=1, but CS's hidden part
;                   still holds gdt_a's descriptor: still compatibility mode
;   lm64            after jmp 0x10:lm64: same selector, descriptor reloaded, 64-bit
;   after_iretq     IRETQ to CS=0x10 (gdt_b again): 64-bit, same selector
;   compat_again    LGDT gdt_a, RETFQ to CS=0x10: compatibility mode once more
;   done            spins there, interrupts off
;
; Paging: 4-level, one 2 MiB page maps 0-2 MiB to itself; 0x200000 is unmapped.
; SDM Vol. 3A 3.4.3 (the hidden part of a segment register is loaded only with
; its selector), 5.2.1 (CS.L picks 64-bit or compatibility mode), 9.8.5.
bits 16
org 0x7c00

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xc0000080
EFER_LME        equ 1 << 8
PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_PS          equ 1 << 7

SEL_DATA        equ 0x08                    ; flat data in both tables
SEL_CODE        equ 0x10                    ; the selector this guest is about

STAGE2_SECTORS  equ 2
BIOS_DISK_READ  equ 0x02                    ; INT 13h AH=02h, CHS read
PORT_A20_FAST   equ 0x92
A20_FAST_BIT    equ 0x02
PORT_DEBUGCON   equ 0xe9
VGA_TEXT_SEG    equ 0xb800
VGA_ATTR_ERROR  equ 0x4f                    ; white on red
STACK_TOP       equ 0x7c00

PML4            equ 0x20000                 ; page tables in free memory
PDPT            equ 0x21000
PD              equ 0x22000
TABLES_END      equ 0x23000

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, STACK_TOP
        mov ax, (BIOS_DISK_READ << 8) | STAGE2_SECTORS
        mov cx, 0x0002                      ; cylinder 0, sector 2 (1-based)
        xor dh, dh                          ; head 0; DL = boot drive from the BIOS
        mov bx, stage2
        int 0x13
        mov si, msg_disk
        jc fail16
        jmp 0:stage2

; fail16: SI = message (zero-terminated). Writes it to the debug console and
; the top line of the screen, then stops with interrupts off. Never returns.
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

msg_disk: db "samesel: INT 13h could not read stage 2", 0

times 510 - ($ - $$) db 0
dw 0xaa55

stage2:
        in al, PORT_A20_FAST
        or al, A20_FAST_BIT
        out PORT_A20_FAST, al
        lgdt [gdtr_a]
        mov eax, cr0
        or eax, CR0_PE
        mov cr0, eax
        jmp SEL_CODE:pm32                   ; gdt_a[2]: 32-bit code

bits 32
pm32:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK_TOP
        mov edi, PML4                       ; not-present entries must read 0
        mov ecx, (TABLES_END - PML4) / 4
        xor eax, eax
        rep stosd
        mov dword [PML4], PDPT | PTE_P | PTE_RW
        mov dword [PDPT], PD | PTE_P | PTE_RW
        mov dword [PD], 0 | PTE_P | PTE_RW | PTE_PS     ; 2 MiB page at 0

        ; SDM 9.8.5: PAE, CR3, EFER.LME, then CR0.PG makes EFER.LMA = 1.
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME
        wrmsr
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
compat:
        nop
        lgdt [gdtr_b]                       ; CS keeps its cache: no mode change yet
new_gdt_loaded:
        nop
        jmp SEL_CODE:lm64                   ; same selector, gdt_b[2] has L=1

bits 64
lm64:
        mov rax, rsp                        ; IRETQ pops RIP, CS, RFLAGS, RSP, SS
        push qword SEL_DATA
        push rax
        pushfq
        push qword SEL_CODE
        push qword after_iretq
        iretq
after_iretq:
        nop
        lgdt [gdtr_a]                       ; CS.L stays 1 until CS is reloaded
        push qword SEL_CODE                 ; RETFQ pops RIP, then CS
        push qword compat_again
        retfq

bits 32
compat_again:
        nop
done:
        jmp done

; Flat descriptors (base 0, limit 0xfffff pages = 4 GiB), SDM 3.4.5 Figure 3-8.
ACC_RW          equ 1 << 1                  ; access byte: readable code / writable data
ACC_CODE        equ 1 << 3
ACC_S           equ 1 << 4                  ; code or data, not a system descriptor
ACC_P           equ 1 << 7                  ; present
FLG_L           equ 1 << 1                  ; flags nibble: 64-bit code (D must be 0)
FLG_DB          equ 1 << 2                  ;   32-bit default operand size
FLG_G           equ 1 << 3                  ;   limit in 4 KiB units
LIMIT_LOW       equ 0xffff
LIMIT_HIGH      equ 0xf
CODE            equ ACC_P | ACC_S | ACC_CODE | ACC_RW
DATA            equ ACC_P | ACC_S | ACC_RW

%macro flat_descriptor 2                    ; access byte, flags nibble
        dw LIMIT_LOW, 0                     ; limit 15:0, base 15:0
        db 0, (%1), ((%2) << 4) | LIMIT_HIGH, 0 ; base 23:16, access, flags+limit, base 31:24
%endmacro

align 8
gdt_a:
        dq 0                                ; null descriptor
        flat_descriptor DATA, FLG_G | FLG_DB            ; 0x08
        flat_descriptor CODE, FLG_G | FLG_DB            ; 0x10: 32-bit code
gdt_a_end:
gdt_b:
        dq 0
        flat_descriptor DATA, FLG_G | FLG_DB            ; 0x08
        flat_descriptor CODE, FLG_G | FLG_L             ; 0x10: 64-bit code
gdt_b_end:

gdtr_a: dw gdt_a_end - gdt_a - 1            ; LGDT operand: limit, then base
        dq gdt_a                            ; (64-bit mode reads 8 base bytes)
gdtr_b: dw gdt_b_end - gdt_b - 1
        dq gdt_b

times (1 + STAGE2_SECTORS) * 512 - ($ - $$) db 0
