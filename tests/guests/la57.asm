; la57.asm: 5-level paging (CR4.LA57, SDM Vol. 3A 4.5) in 64-bit mode.
; Needs a CPU with LA57 and 1 GiB pages: under TCG, -cpu max,+la57.
;
;   start         real mode, CS=0; loads stage 2 (sectors 1-3) to 0x7e00 (INT 13h AH=02h)
;   pm32          protected mode, CS=0x08 (32-bit), paging off; checks CPUID
;   compat57      CR4.PAE+LA57, EFER.LME, CR0.PG: IA-32e mode with 5-level
;                 paging, CS still 32-bit (compatibility mode)
;   lm64_la57     after the far jump to CS=0x18: 64-bit mode, 5-level paging
;   high_written  wrote a line of text to the screen through high_4k
;   done          spins there, interrupts off
; A CPU without LA57 or 1 GiB pages gets a one-line message on the screen and
; the debug console (port 0xE9) at pm32 instead.
;
; Mappings built at pm32 (linear -> physical):
;   0x0000000000000000  2 MiB page -> 0          identity: code, stack, tables, VGA
;   0x0000004000000000  1 GiB page -> 0          execute-disable
;   0xff123456789ab000  4 KiB page -> 0xb8000    user; PML5 entry 274, PML4 104,
;                                                PDPT 345, PD 452, PT 427
;   unmapped: 0x200000, 0xff123456789ac000, 0x0000800000000000 (canonical only
;   with 57-bit addresses: PML4 entry 256 of PML5 entry 0 is empty)
;   non-canonical: 0x0100000000000000 (bit 56 set, bits 63:57 clear)
;
; CR4.LA57 cannot change while IA-32e mode is active (SDM Vol. 3A 2.5, MOV to
; CR4 #GP), so it is set with PAE while paging is still off.
bits 16
org 0x7c00

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
CR4_LA57        equ 1 << 12
MSR_EFER        equ 0xc0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11
CPUID_STRUCT_EXT    equ 7                   ; leaf 7, subleaf 0 (SDM Vol. 2A CPUID)
CPUID_7_ECX_LA57    equ 1 << 16
CPUID_EXT_FEATURES  equ 0x80000001
CPUID_EDX_PAGE1GB   equ 1 << 26
PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_US          equ 1 << 2
PTE_PS          equ 1 << 7
PTE_XD_HIGH     equ 1 << 31                 ; bit 63, in the entry's high dword
INDEX_MASK      equ 0x1ff                   ; 9 bits of the address per level
%define PML5_INDEX(a) (((a) >> 48) & INDEX_MASK)
%define PML4_INDEX(a) (((a) >> 39) & INDEX_MASK)
%define PDPT_INDEX(a) (((a) >> 30) & INDEX_MASK)
%define PD_INDEX(a)   (((a) >> 21) & INDEX_MASK)
%define PT_INDEX(a)   (((a) >> 12) & INDEX_MASK)

HIGH_4K         equ 0xff123456789ab000
GIANT_1G        equ 0x0000004000000000
VGA_TEXT        equ 0xb8000
VGA_TEXT_SEG    equ VGA_TEXT >> 4
VGA_ATTR_OK     equ 0x2f                    ; white on green
VGA_ATTR_ERROR  equ 0x4f                    ; white on red
PORT_DEBUGCON   equ 0xe9
STACK_TOP       equ 0x7c00

SEL_CODE32      equ 0x08
SEL_DATA32      equ 0x10
SEL_CODE64      equ 0x18

STAGE2_SECTORS  equ 3
BIOS_DISK_READ  equ 0x02                    ; INT 13h AH=02h, CHS read
PORT_A20_FAST   equ 0x92
A20_FAST_BIT    equ 0x02

PML5            equ 0x20000                 ; page tables in free memory
PML4_LOW        equ 0x21000
PDPT_LOW        equ 0x22000
PD_LOW          equ 0x23000
PML4_HIGH       equ 0x24000
PDPT_HIGH       equ 0x25000
PD_HIGH         equ 0x26000
PT_HIGH         equ 0x27000
TABLES_END      equ 0x28000

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

msg_disk: db "la57: INT 13h could not read stage 2", 0

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
        jmp SEL_CODE32:pm32

bits 32
pm32:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK_TOP
        xor eax, eax
        cpuid
        mov esi, msg_no_la57
        cmp eax, CPUID_STRUCT_EXT
        jb fail32
        mov eax, CPUID_STRUCT_EXT
        xor ecx, ecx
        cpuid
        test ecx, CPUID_7_ECX_LA57
        jz fail32
        mov eax, CPUID_EXT_FEATURES
        cpuid
        mov esi, msg_no_1g
        test edx, CPUID_EDX_PAGE1GB
        jz fail32

        mov edi, PML5                       ; not-present entries must read 0
        mov ecx, (TABLES_END - PML5) / 4
        xor eax, eax
        rep stosd
        mov dword [PML5 + 0 * 8], PML4_LOW | PTE_P | PTE_RW
        mov dword [PML4_LOW + 0 * 8], PDPT_LOW | PTE_P | PTE_RW
        mov dword [PDPT_LOW + 0 * 8], PD_LOW | PTE_P | PTE_RW
        mov dword [PD_LOW + 0 * 8], 0 | PTE_P | PTE_RW | PTE_PS
        mov dword [PDPT_LOW + PDPT_INDEX(GIANT_1G) * 8], 0 | PTE_P | PTE_RW | PTE_PS
        mov dword [PDPT_LOW + PDPT_INDEX(GIANT_1G) * 8 + 4], PTE_XD_HIGH
        ; US=1 at every level: an entry's user bit only counts if all above have it.
        mov dword [PML5 + PML5_INDEX(HIGH_4K) * 8], PML4_HIGH | PTE_P | PTE_RW | PTE_US
        mov dword [PML4_HIGH + PML4_INDEX(HIGH_4K) * 8], PDPT_HIGH | PTE_P | PTE_RW | PTE_US
        mov dword [PDPT_HIGH + PDPT_INDEX(HIGH_4K) * 8], PD_HIGH | PTE_P | PTE_RW | PTE_US
        mov dword [PD_HIGH + PD_INDEX(HIGH_4K) * 8], PT_HIGH | PTE_P | PTE_RW | PTE_US
        mov dword [PT_HIGH + PT_INDEX(HIGH_4K) * 8], VGA_TEXT | PTE_P | PTE_RW | PTE_US

        ; SDM 9.8.5 with 4.5: PAE and LA57 first, then CR3 (the PML5 table),
        ; EFER.LME (and NXE, so bit 63 means XD, not a reserved bit), CR0.PG.
        mov eax, cr4
        or eax, CR4_PAE | CR4_LA57
        mov cr4, eax
        mov eax, PML5
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME | EFER_NXE
        wrmsr
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
compat57:
        nop
        jmp SEL_CODE64:lm64_la57

; fail32: ESI = message (zero-terminated). Writes it to the debug console and
; the top line of the screen, then stops with interrupts off. Never returns.
fail32:
        mov edi, VGA_TEXT
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

bits 64
lm64_la57:
        mov rdi, HIGH_4K                    ; the screen, seen through PML5 entry 274
        mov rsi, msg_ok
        mov ah, VGA_ATTR_OK
.put:   lodsb
        test al, al
        jz high_written
        stosw
        jmp .put
high_written:
        nop
done:
        jmp done

msg_no_la57: db "la57: no 5-level paging (CPUID.7.0:ECX.LA57); use -cpu max,+la57", 0
msg_no_1g:   db "la57: no 1 GiB pages (CPUID.80000001h:EDX.Page1GB); use -cpu max,+la57", 0
msg_ok:      db "la57: 64-bit mode, 5-level paging, written via 0xff123456789ab000", 0

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
