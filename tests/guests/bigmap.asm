; bigmap.asm: 4 GiB of linear address space mapped with 4 KiB pages, for
; timing page-table walkers (bootlab's `bl maps` against QEMU's `info mem`).
;
;   start    real mode, CS=0; loads stage 2 (sector 1) to 0x7e00 (INT 13h AH=02h)
;   pm32     protected mode, CS=0x08 (32-bit), paging off: builds the tables
;            by writing physical memory directly (nothing of them is in the image)
;   mapped   64-bit mode, CS=0x18, CR3 = the big map
;   done     spins there, interrupts off
;
; The map (4-level, SDM Vol. 3A 4.5): linear L below 4 GiB -> physical
; L mod 64 MiB, present and writable; nothing at or above 4 GiB. That is
; 1,048,576 PTEs in 2048 page tables (8 MiB) + 4 page directories + 1 PDPT
; + 1 PML4, at physical 64 MiB up to 72 MiB + 24 KiB. The code (0x7c00) maps
; to itself. Needs -m 128M (any size above 73 MiB):
;   qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m 128M -display none
;       -drive file=bigmap.img,format=raw,if=ide,snapshot=on
bits 16
org 0x7c00

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xc0000080
EFER_LME        equ 1 << 8
PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PAGE_SIZE       equ 0x1000
ENTRY_SIZE      equ 8                       ; a 64-bit paging entry
ENTRIES         equ 512                     ; per table

MAPPED_SIZE     equ 1 << 32                 ; 4 GiB of linear addresses
WRAP_SIZE       equ 64 << 20                ; physical = linear mod 64 MiB
PTE_COUNT       equ MAPPED_SIZE / PAGE_SIZE ; 1,048,576
PT_COUNT        equ PTE_COUNT / ENTRIES     ; 2048
PD_COUNT        equ PT_COUNT / ENTRIES      ; 4

PT_BASE         equ 64 << 20                ; 2048 tables back to back
PD_BASE         equ PT_BASE + PT_COUNT * PAGE_SIZE
PDPT            equ PD_BASE + PD_COUNT * PAGE_SIZE
PML4            equ PDPT + PAGE_SIZE
TABLES_END      equ PML4 + PAGE_SIZE

SEL_CODE32      equ 0x08
SEL_DATA32      equ 0x10
SEL_CODE64      equ 0x18

STAGE2_SECTORS  equ 1
BIOS_DISK_READ  equ 0x02                    ; INT 13h AH=02h, CHS read
PORT_A20_FAST   equ 0x92
A20_FAST_BIT    equ 0x02
PORT_DEBUGCON   equ 0xe9
VGA_TEXT_SEG    equ 0xb800
VGA_ATTR_ERROR  equ 0x4f                    ; white on red
STACK_TOP       equ 0x7c00

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

msg_disk: db "bigmap: INT 13h could not read stage 2", 0

times 510 - ($ - $$) db 0
dw 0xaa55

stage2:
        in al, PORT_A20_FAST                ; the tables lie above 1 MiB
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
        cld

        ; PTE i maps linear i * 4 KiB to (i * 4 KiB) mod 64 MiB.
        mov edi, PT_BASE
        mov eax, PTE_P | PTE_RW
        mov ecx, PTE_COUNT
.pte:   stosd
        mov dword [edi], 0                  ; high dword: address bits 51:32, XD
        add edi, ENTRY_SIZE - 4
        add eax, PAGE_SIZE
        and eax, WRAP_SIZE - 1              ; keeps the flags in bits 11:0 too
        loop .pte

        ; PD entry j points at page table j: the four PDs are one array.
        mov edi, PD_BASE
        mov eax, PT_BASE | PTE_P | PTE_RW
        mov ecx, PT_COUNT
.pde:   stosd
        mov dword [edi], 0
        add edi, ENTRY_SIZE - 4
        add eax, PAGE_SIZE
        loop .pde

        mov edi, PDPT                       ; not-present entries must read 0
        mov ecx, (TABLES_END - PDPT) / 4
        xor eax, eax
        rep stosd
        mov edi, PDPT
        mov eax, PD_BASE | PTE_P | PTE_RW
        mov ecx, PD_COUNT
.pdpte: stosd
        add edi, ENTRY_SIZE - 4
        add eax, PAGE_SIZE
        loop .pdpte
        mov dword [PML4], PDPT | PTE_P | PTE_RW

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
        jmp SEL_CODE64:mapped

bits 64
mapped:
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
