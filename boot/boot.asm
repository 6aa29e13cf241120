; boot.asm: the boot sector, stage 1.
;
; Who jumps here: the BIOS, after it read LBA 0 of the boot disk to 0x7c00 and
; found the signature 0x55 0xAA at offsets 510-511.
; On entry: real mode, interrupts on, DL = BIOS drive number (0x80 for the
;   first hard disk). CS:IP is 0000:7C00 on most BIOSes but some use 07C0:0000;
;   every other register is undefined.
; On exit (jmp stage2_start): real mode, CS = DS = ES = SS = 0, SP =
;   REAL_STACK_TOP, stage 2 at STAGE2_ADDR, the kernel at KERNEL_ADDR, and
;   boot_info.boot_drive / .kernel_sectors filled in.
;
; All real-mode code runs with segment bases of 0, so every offset is also a
; linear address: GDB's breakpoints and line table (linear) then agree with IP.

%include "bootlab.inc"
%include "macros.inc"

%ifndef KERNEL_SECTORS
  %error "KERNEL_SECTORS must be given by the Makefile (nasm -DKERNEL_SECTORS=N)"
%endif

; Linear address of the end-marker sector. It lies above 64 KiB, out of reach
; of DS = 0, so FS (used for nothing else) points at it for one compare.
KERNEL_END_SECTOR equ KERNEL_ADDR + (KERNEL_SECTORS - 1) * SECTOR_SIZE

bits 16
section .boot progbits alloc exec nowrite

extern stage2_start

global boot_start
boot_start:
    jmp 0:.normalized          ; far jump: from here on CS = 0, IP = offset
.normalized:
    cli                        ; no interrupt may use a half-set SS:SP
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, REAL_STACK_TOP
    sti
    cld                        ; string instructions count upwards
    mov [BOOT_INFO_ADDR + BI_BOOT_DRIVE], dl

    ; INT 13h extensions (EDD, Phoenix spec): AH=41h answers BX=AA55h and
    ; CX bit 0 when the AH=42h packet interface exists.
    mov ah, BIOS_EXT_CHECK
    mov bx, BIOS_EXT_MAGIC
    int BIOS_DISK_INT
    jc no_extensions
    cmp bx, BIOS_EXT_ANSWER
    jne no_extensions
    test cx, BIOS_EXT_DAP
    jz no_extensions

    mov eax, STAGE2_LBA
%ifdef BUG_STAGE2_SECTORS       ; lab bug (lab/17): the count from before stage 2
    mov cx, (PM32_ADDR - STAGE2_ADDR) / SECTOR_SIZE ; had a 32-bit part
%else
    mov cx, STAGE2_SECTORS
%endif
    mov bx, STAGE2_ADDR >> 4
    call read_disk
    mov eax, KERNEL_LBA
    mov cx, KERNEL_SECTORS
    mov bx, KERNEL_ADDR >> 4
    call read_disk
    ; The last sector read must be the image's end marker (see mkimage.sh).
    push word KERNEL_END_SECTOR >> 4
    pop fs
    cmp dword [fs:0], KERNEL_END_MAGIC
    push ds
    pop fs                     ; FS back to 0 (POP leaves the flags alone)
    jne truncated
    mov dword [BOOT_INFO_ADDR + BI_KERNEL_SECTORS], KERNEL_SECTORS
global stage2_loaded
stage2_loaded: MAGIC_BREAK
    jmp stage2_start

no_extensions:
    mov si, msg_no_extensions
    jmp boot_fail
truncated:
    mov si, msg_truncated
    jmp boot_fail

; read_disk: read sectors with INT 13h AH=42h, in chunks, retrying each.
; In: EAX = first LBA, CX = sector count, BX = destination segment (offset 0),
;     the boot drive in boot_info. Out: returns only on success; a read that
;     fails DISK_RETRIES times ends in boot_fail with the BIOS status.
; Clobbers: EAX, BX, CX, DX, SI, DI.
read_disk:
.chunk:
    movzx edi, cx
    cmp di, DISK_MAX_CHUNK
    jbe .sized
    mov di, DISK_MAX_CHUNK
.sized:
    mov [dap.count], di
    mov [dap.segment], bx
    mov [dap.lba], eax
    mov dh, DISK_RETRIES
.try:
    push dx
    mov si, dap
    mov ah, BIOS_EXT_READ
    mov dl, [BOOT_INFO_ADDR + BI_BOOT_DRIVE]
    int BIOS_DISK_INT
    pop dx
    jnc .next
    mov dl, ah                 ; keep the status: the reset overwrites AH
    push dx
    mov ah, BIOS_DISK_RESET
    mov dl, [BOOT_INFO_ADDR + BI_BOOT_DRIVE]
    int BIOS_DISK_INT
    pop dx
    dec dh
    jnz .try
    mov al, dl
    jmp disk_error
.next:
    mov eax, [dap.lba]         ; the BIOS call clobbered AH
    add eax, edi
    shl di, SECTOR_SHIFT - 4   ; sectors -> paragraphs
    add bx, di
    shr di, SECTOR_SHIFT - 4
    sub cx, di
    jnz .chunk
    ret

; disk_error: AL = BIOS status code (Ralf Brown's list, INT 13h AH=01h).
disk_error:
    push ax
    mov si, msg_disk_error
    call print                 ; clobbers AL
    pop ax
    call print_hex8
    mov si, msg_newline
    ; fall through

; boot_fail: print the message at SI and stop. Also used by stage 2.
global boot_fail
boot_fail:
    call print
    mov al, DEBUG_EXIT_FAILURE ; QEMU with isa-debug-exit quits here
    out PORT_DEBUG_EXIT, al
.stop:
    cli
    hlt
    jmp .stop

; print: write the NUL-terminated string at SI to the screen (BIOS teletype)
; and to the debug console port. Clobbers AX, SI.
global print
print:
    lodsb
    test al, al
    jz .done
    call print_char
    jmp print
.done:
    ret

; print_char: AL to the screen and to port 0xE9. Clobbers AH.
global print_char
print_char:
    out PORT_DEBUGCON, al
    push bx
    mov ah, BIOS_TELETYPE
    xor bx, bx                 ; page 0
    int BIOS_VIDEO_INT
    pop bx
    ret

; print_hex8: AL as two hex digits. Clobbers AX.
global print_hex8
print_hex8:
    push ax
    shr al, 4
    call .digit
    pop ax
.digit:
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    jmp print_char

; Disk address packet for AH=42h (EDD 3.0, table 'Device address packet').
dap:
    db DAP_SIZE, 0
.count:   dw 0
.offset:  dw 0
.segment: dw 0
.lba:     dd 0, 0

msg_no_extensions: db "bootlab: BIOS has no INT 13h extensions, cannot load", 13, 10, 0
msg_truncated:     db "bootlab: kernel end marker missing: disk image truncated?", 13, 10, 0
msg_disk_error:    db "bootlab: disk read error, BIOS status 0x", 0
msg_newline:       db 13, 10, 0

section .bootsig progbits alloc noexec nowrite
    dw BOOT_SIGNATURE
