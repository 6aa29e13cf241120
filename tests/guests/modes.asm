; modes.asm: a guest that visits every CPU and paging mode the GDB extension
; tells apart, stopping-friendly (a label at each stage) for its tests.
;
;   start        real mode, CS=0; loads sectors 1-4 to 0x7e00 (INT 13h AH=02h)
;   pe16         CR0.PE=1 but CS still holds a real-mode cache: 16-bit protected
;   pm32         after the far jump to a 32-bit code segment
;   paging32     32-bit paging (CR4.PSE for one 4 MiB page)
;   paging_pae   PAE paging, EFER.NXE on (one execute-disable 2 MiB page)
;   compat       EFER.LME + CR0.PG: IA-32e mode, still 32-bit code (compatibility)
;   lm64         after the far jump to a 64-bit code segment
;   done         spins forever with interrupts off
;   showcase     64-bit instructions that are never run, for disassembly
;
; Each paging stage maps a few addresses away from the identity map, so a
; page walk has something to find, and leaves 0xc0000000 unmapped.
; Manual references: Intel SDM Vol. 3A 9.9 (mode switching), chapter 4 (paging).
bits 16
org 0x7c00

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PSE         equ 1 << 4
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xc0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11
PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_US          equ 1 << 2
PTE_PS          equ 1 << 7
PTE_XD_HIGH     equ 1 << 31                 ; bit 63, in the entry's high dword
PAGE_SIZE       equ 0x1000

SEL_CODE32      equ 0x08
SEL_DATA32      equ 0x10
SEL_CODE64      equ 0x18

STAGE2_SECTORS  equ 4
BIOS_DISK_READ  equ 0x02                    ; INT 13h AH=02h, CHS read
PORT_A20_FAST   equ 0x92
A20_FAST_BIT    equ 0x02

; Page tables, all in free memory at 0x20000 and up.
PD32            equ 0x20000                 ; 32-bit paging: page directory
PT32_LOW        equ 0x21000                 ;   identity map of 0-4 MiB
PT32_HIGH       equ 0x22000                 ;   0x80000000 -> VGA text pages
PDPT_PAE        equ 0x23000                 ; PAE: page-directory-pointer table
PD_PAE_LOW      equ 0x24000                 ;   0-1 GiB
PD_PAE_HIGH     equ 0x25000                 ;   1-2 GiB
PT_PAE_LOW      equ 0x26000                 ;   identity map of 0-2 MiB
PML4            equ 0x28000                 ; 4-level paging
PDPT_LOW        equ 0x29000
PD_LOW          equ 0x2a000
PT_LOW          equ 0x2b000
PDPT_HIGH       equ 0x2c000                 ;   0xffffffff80000000 and up
PD_HIGH         equ 0x2d000
TABLES_END      equ 0x2e000

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        mov ax, (BIOS_DISK_READ << 8) | STAGE2_SECTORS
        mov cx, 0x0002                      ; cylinder 0, sector 2 (1-based)
        xor dh, dh                          ; head 0; DL = boot drive from the BIOS
        mov bx, stage2
        int 0x13
        jc $                                ; a failed read just hangs here
        jmp 0:stage2

times 510 - ($ - $$) db 0
dw 0xaa55

stage2:
        in al, PORT_A20_FAST
        or al, A20_FAST_BIT
        out PORT_A20_FAST, al
        lgdt [gdtr]
        mov eax, cr0
        or eax, CR0_PE
        mov cr0, eax
pe16:
        nop
        jmp SEL_CODE32:pm32

bits 32
pm32:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7c00
        mov edi, PD32                       ; zero every table once
        mov ecx, (TABLES_END - PD32) / 4
        xor eax, eax
        rep stosd

        ; 32-bit paging (SDM 4.3): 0-4 MiB identity with 4 KiB pages,
        ; 0x40000000 -> 4 MiB page at 0x400000, 0x80000000 -> VGA (rw),
        ; 0x80001000 -> VGA + 4 KiB (read-only, user).
        mov edi, PT32_LOW
        mov eax, PTE_P | PTE_RW
        mov ecx, 1024
.fill32:
        stosd
        add eax, PAGE_SIZE
        loop .fill32
        mov dword [PD32 + 0 * 4], PT32_LOW | PTE_P | PTE_RW
        mov dword [PD32 + 0x100 * 4], 0x400000 | PTE_P | PTE_RW | PTE_PS
        mov dword [PD32 + 0x200 * 4], PT32_HIGH | PTE_P | PTE_RW | PTE_US
        mov dword [PT32_HIGH + 0 * 4], 0xb8000 | PTE_P | PTE_RW
        mov dword [PT32_HIGH + 1 * 4], 0xb9000 | PTE_P | PTE_US
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov eax, PD32
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
paging32:
        nop
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax

        ; PAE paging (SDM 4.4): 0-2 MiB identity with 4 KiB pages,
        ; 2-4 MiB one 2 MiB page, 0x40000000 -> 2 MiB page at 0x600000 with XD.
        mov edi, PT_PAE_LOW
        mov eax, PTE_P | PTE_RW
        mov ecx, 512
.fillpae:
        mov [edi], eax
        add edi, 8
        add eax, PAGE_SIZE
        loop .fillpae
        mov dword [PDPT_PAE + 0 * 8], PD_PAE_LOW | PTE_P
        mov dword [PDPT_PAE + 1 * 8], PD_PAE_HIGH | PTE_P
        mov dword [PD_PAE_LOW + 0 * 8], PT_PAE_LOW | PTE_P | PTE_RW
        mov dword [PD_PAE_LOW + 1 * 8], 0x200000 | PTE_P | PTE_RW | PTE_PS
        mov dword [PD_PAE_HIGH + 0 * 8], 0x600000 | PTE_P | PTE_RW | PTE_PS
        mov dword [PD_PAE_HIGH + 0 * 8 + 4], PTE_XD_HIGH
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_NXE
        wrmsr
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, PDPT_PAE
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
paging_pae:
        nop
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax

        ; 4-level paging (SDM 4.5): 0-2 MiB identity (4 KiB pages),
        ; 2-4 MiB one 2 MiB page, 0xffffffff80000000 -> 2 MiB page at 0x400000.
        mov edi, PT_LOW
        mov eax, PTE_P | PTE_RW
        mov ecx, 512
.fill64:
        mov [edi], eax
        add edi, 8
        add eax, PAGE_SIZE
        loop .fill64
        mov dword [PML4 + 0 * 8], PDPT_LOW | PTE_P | PTE_RW
        mov dword [PML4 + 511 * 8], PDPT_HIGH | PTE_P | PTE_RW
        mov dword [PDPT_LOW + 0 * 8], PD_LOW | PTE_P | PTE_RW
        mov dword [PD_LOW + 0 * 8], PT_LOW | PTE_P | PTE_RW
        mov dword [PD_LOW + 1 * 8], 0x200000 | PTE_P | PTE_RW | PTE_PS
        mov dword [PDPT_HIGH + 510 * 8], PD_HIGH | PTE_P | PTE_RW
        mov dword [PD_HIGH + 0 * 8], 0x400000 | PTE_P | PTE_PS
        mov dword [PD_HIGH + 0 * 8 + 4], PTE_XD_HIGH
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
        jmp SEL_CODE64:lm64

bits 64
lm64:
        nop
done:
        jmp done

showcase:                                   ; never run: 64-bit-only encodings
        mov rax, 0x123456789abcdef0         ; for the disassembly test
        lea rsi, [rel gdt]
        push r12
        pop r12
        movzx ecx, byte [rsi + rax * 2 + 8]
        xor r8d, r8d
        call done

; Flat descriptors (base 0, limit 0xfffff pages = 4 GiB), SDM 3.4.5 Figure 3-8.
ACC_RW          equ 1 << 1                  ; access byte: readable code / writable data
ACC_CODE        equ 1 << 3
ACC_S           equ 1 << 4                  ; code or data, not a system descriptor
ACC_P           equ 1 << 7                  ; present
FLG_L           equ 1 << 1                  ; flags nibble: 64-bit code
FLG_DB          equ 1 << 2                  ;   32-bit default operand size
FLG_G           equ 1 << 3                  ;   limit in 4 KiB units
LIMIT_LOW       equ 0xffff
LIMIT_HIGH      equ 0xf

%macro flat_descriptor 2                    ; access byte, flags nibble
        dw LIMIT_LOW, 0                     ; limit 15:0, base 15:0
        db 0, (%1), ((%2) << 4) | LIMIT_HIGH, 0 ; base 23:16, access, flags+limit, base 31:24
%endmacro

align 8
gdt:
        dq 0                                                    ; null descriptor
        flat_descriptor ACC_P | ACC_S | ACC_CODE | ACC_RW, FLG_G | FLG_DB   ; 0x08
        flat_descriptor ACC_P | ACC_S | ACC_RW, FLG_G | FLG_DB              ; 0x10
        flat_descriptor ACC_P | ACC_S | ACC_CODE | ACC_RW, FLG_G | FLG_L    ; 0x18
gdt_end:
gdtr:
        dw gdt_end - gdt - 1
        dd gdt

times (1 + STAGE2_SECTORS) * 512 - ($ - $$) db 0
