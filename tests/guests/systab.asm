; systab.asm: the system structures a kernel sets up besides the GDT and IDT:
; a task-state segment (TR), a local descriptor table (LDTR) and the local
; APIC, each with values that say where they came from, for `bl tss`,
; `bl ldt` and `bl apic` (and their fixtures).
;
;   start       real mode, CS=0; loads stage 2 (sectors 1-3) to 0x7e00
;   pm_tables   protected mode 32-bit, paging off: TR = 0x18, a 32-bit TSS
;               with an I/O bitmap that allows ports 0x3f8-0x3ff only;
;               LDTR = 0x20, an LDT of 3 descriptors, FS loaded from it
;               (selector 0x0f: index 1, TI=1, RPL 3); the local APIC
;               software-enabled (SVR 0x1ff), TPR 0x20, LVT Timer periodic
;               vector 0x40 masked, LINT0 ExtINT
;   lm_tables   64-bit mode, 4-level paging: TR = 0x30, a 64-bit TSS with
;               RSP0-2 and IST1-7 set, no I/O bitmap (base past the limit)
;   done        spins there, interrupts off
;
; SDM Vol. 3A 7.2 (TSS, TR), 7.7 (64-bit TSS), 3.5.1 (LDT), 10.4 (APIC).
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

SEL_CODE32      equ 0x08
SEL_DATA        equ 0x10
SEL_TSS32       equ 0x18
SEL_LDT         equ 0x20
SEL_CODE64      equ 0x28
SEL_TSS64       equ 0x30                    ; 16 bytes in IA-32e mode: 0x30 and 0x38
SEL_LDT_DATA    equ (1 << 3) | (1 << 2) | 3 ; LDT index 1, TI=1, RPL 3

STAGE2_SECTORS  equ 3
BIOS_DISK_READ  equ 0x02
PORT_A20_FAST   equ 0x92
A20_FAST_BIT    equ 0x02
PORT_DEBUGCON   equ 0xe9
VGA_TEXT_SEG    equ 0xb800
VGA_ATTR_ERROR  equ 0x4f
STACK_TOP       equ 0x7c00

APIC_BASE       equ 0xfee00000              ; IA32_APIC_BASE after reset
APIC_TPR        equ 0x80
APIC_SVR        equ 0xf0
APIC_LVT_TIMER  equ 0x320
APIC_LVT_LINT0  equ 0x350
APIC_SVR_ENABLE equ 1 << 8
APIC_MASKED     equ 1 << 16
APIC_PERIODIC   equ 1 << 17
APIC_EXTINT     equ 7 << 8

PML4            equ 0x20000
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
        mov cx, 0x0002                      ; cylinder 0, sector 2
        xor dh, dh                          ; DL = boot drive from the BIOS
        mov bx, stage2
        int 0x13
        mov si, msg_disk
        jc fail16
        jmp 0:stage2

; fail16: SI = message. Debug console and top line of the screen, then stop.
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

msg_disk: db "systab: INT 13h could not read stage 2", 0

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
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK_TOP
        mov ax, SEL_TSS32
        ltr ax                              ; marks the descriptor busy
        mov ax, SEL_LDT
        lldt ax
        mov ax, SEL_LDT_DATA
        mov fs, ax
        ; The APIC's page is memory to this CPU (paging is off: physical).
        mov dword [APIC_BASE + APIC_SVR], APIC_SVR_ENABLE | 0xff
        mov dword [APIC_BASE + APIC_TPR], 0x20
        mov dword [APIC_BASE + APIC_LVT_TIMER], APIC_MASKED | APIC_PERIODIC | 0x40
        mov dword [APIC_BASE + APIC_LVT_LINT0], APIC_EXTINT
pm_tables:
        nop
        mov edi, PML4
        mov ecx, (TABLES_END - PML4) / 4
        xor eax, eax
        rep stosd
        mov dword [PML4], PDPT | PTE_P | PTE_RW
        mov dword [PDPT], PD | PTE_P | PTE_RW
        mov dword [PD], 0 | PTE_P | PTE_RW | PTE_PS     ; 2 MiB page at 0
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
        jmp SEL_CODE64:lm64

bits 64
lm64:
        mov ax, SEL_TSS64
        ltr ax
lm_tables:
        nop
done:
        jmp done

; ---- Descriptors, SDM 3.4.5 Figure 3-8 ----------------------------------------
ACC_A           equ 1 << 0
ACC_RW          equ 1 << 1
ACC_CODE        equ 1 << 3
ACC_S           equ 1 << 4
ACC_DPL3        equ 3 << 5
ACC_P           equ 1 << 7
SYS_LDT         equ 0x2
SYS_TSS         equ 0x9                     ; available 32-bit (or 64-bit) TSS
FLG_L           equ 1 << 1
FLG_DB          equ 1 << 2
FLG_G           equ 1 << 3
CODE            equ ACC_P | ACC_S | ACC_CODE | ACC_RW
DATA            equ ACC_P | ACC_S | ACC_RW

%macro descriptor 4                         ; base, limit (20 bits), access byte, flags nibble
        dw (%2) & 0xffff, (%1) & 0xffff
        db ((%1) >> 16) & 0xff, (%3), ((%4) << 4) | (((%2) >> 16) & 0xf), ((%1) >> 24) & 0xff
%endmacro

align 8
gdt:
        dq 0
        descriptor 0, 0xfffff, CODE, FLG_G | FLG_DB            ; 0x08
        descriptor 0, 0xfffff, DATA, FLG_G | FLG_DB            ; 0x10
        descriptor tss32 - $$ + 0x7c00, tss32_end - tss32 - 1, ACC_P | SYS_TSS, 0   ; 0x18
        descriptor ldt - $$ + 0x7c00, ldt_end - ldt - 1, ACC_P | SYS_LDT, 0        ; 0x20
        descriptor 0, 0xfffff, CODE, FLG_G | FLG_L             ; 0x28
        descriptor tss64 - $$ + 0x7c00, tss64_end - tss64 - 1, ACC_P | SYS_TSS, 0   ; 0x30
        dq 0                                ; 0x38: base 63:32 of the 64-bit TSS
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt

; The LDT: entry 0 is an ordinary descriptor (only the GDT has a null one).
ldt:
        descriptor 0x40000, 0xffff, CODE | ACC_DPL3, FLG_DB     ; 0x04: code, ring 3
        descriptor 0x50000, 0x0ffff, DATA | ACC_DPL3, FLG_DB    ; 0x0c: data, ring 3
        descriptor 0x60000, 0x00fff, DATA | ACC_A, 0            ; 0x14: 16-bit data, ring 0
ldt_end:

; 32-bit TSS, SDM 7.2.1 Figure 7-2, with a 129-byte I/O bitmap: ports
; 0-0x3ff, all denied but COM1's 0x3f8-0x3ff, then the 0xff byte the CPU
; may read past the end (SDM 19.5.2).
align 16
tss32:
        dd 0                                ; previous task link
        dd 0x9000, 0x10                     ; ESP0, SS0
        dd 0x8000, 0x21                     ; ESP1, SS1 (made up: nothing runs in ring 1 or 2)
        dd 0x7000, 0x32                     ; ESP2, SS2
        dd 0x00123000                       ; CR3
        dd 0x1234, 0x202                    ; EIP, EFLAGS
        dd 1, 2, 3, 4, 5, 6, 7, 8           ; EAX ECX EDX EBX ESP EBP ESI EDI
        dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10   ; ES CS SS DS FS GS
        dd SEL_LDT                          ; LDT selector
        dw 1                                ; T: debug trap on a switch here
        dw iomap - tss32                    ; I/O map base
iomap:
        times 0x3f8 / 8 db 0xff             ; ports 0x000-0x3f7 denied
        db 0x00                             ; 0x3f8-0x3ff allowed
        db 0xff                             ; the terminating byte
tss32_end:

; 64-bit TSS, SDM 7.7 Figure 7-11: no I/O bitmap (its base is the limit + 1).
align 16
tss64:
        dd 0
        dq 0xffff800000010000, 0xffff800000020000, 0xffff800000030000   ; RSP0-2
        dq 0
        dq 0x7100, 0x7200, 0x7300, 0x7400, 0x7500, 0x7600, 0x7700      ; IST1-7
        dq 0
        dw 0
        dw tss64_end - tss64                ; I/O map base = limit + 1
tss64_end:

times (1 + STAGE2_SECTORS) * 512 - ($ - $$) db 0
