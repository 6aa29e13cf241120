; bzimage.asm: the smallest file QEMU's -kernel accepts as a Linux bzImage,
; for the KERNEL= tests: a boot sector with the setup header's first fields,
; one sector of real-mode setup code, and one sector standing in for the
; protected-mode kernel.
;
; The format is the Linux x86 boot protocol (Documentation/arch/x86/boot.rst):
; "HdrS" at 0x202, version 2.15, LOADED_HIGH set. QEMU loads the setup part
; at 0x10000 and its option ROM enters it in real mode at 1020:0000, that is
; at the jump at file offset 0x200 (linear 0x10200), DS = ES = SS = 0x1000.
; It loads the rest at code32_start (0x100000); this guest never goes there.
;
; Exit: never; writes one line to the VGA screen and to port 0xE9, then
; halts at setup_done with interrupts off.
;
; Labels: setup_entry (offset 0x200), setup_main, setup_done.
        bits 16
        org 0                               ; offsets in the file = offsets in DS

SETUP_SECTS     equ 1                       ; real-mode sectors after the boot sector
SECTOR_SIZE     equ 512
BOOT_FLAG       equ 0xaa55
HDR_MAGIC       equ 0x53726448              ; "HdrS"
BOOT_PROTOCOL   equ 0x020f                  ; 2.15
LOADED_HIGH     equ 0x01                    ; loadflags: protected-mode part at 1 MiB
CODE32_START    equ 0x100000
VGA_SEGMENT     equ 0xb800
VGA_ATTR        equ 0x4f                    ; white on red
PORT_DEBUGCON   equ 0xe9

; ---- Sector 0: the legacy boot sector; only its tail is read -----------
        times 0x1f1 - ($ - $$) db 0
        db SETUP_SECTS                      ; 0x1f1 setup_sects
        dw 0                                ; 0x1f2 root_flags
        dd SECTOR_SIZE / 16                 ; 0x1f4 syssize: the 32-bit part, in 16-byte units
        dw 0                                ; 0x1f8 ram_size (obsolete)
        dw 0xffff                           ; 0x1fa vid_mode: "normal"
        dw 0                                ; 0x1fc root_dev
        dw BOOT_FLAG                        ; 0x1fe boot_flag

; ---- Sector 1: the setup header, then the setup code --------------------
setup_entry:                                ; 0x200: where the boot loader jumps
        jmp short setup_main
        dd HDR_MAGIC                        ; 0x202 header
        dw BOOT_PROTOCOL                    ; 0x206 version
        dd 0                                ; 0x208 realmode_swtch
        dw 0                                ; 0x20c start_sys_seg (obsolete)
        dw 0                                ; 0x20e kernel_version: none
        db 0                                ; 0x210 type_of_loader (the loader writes it)
        db LOADED_HIGH                      ; 0x211 loadflags
        dw 0                                ; 0x212 setup_move_size
        dd CODE32_START                     ; 0x214 code32_start
        dd 0, 0                             ; 0x218 ramdisk_image, ramdisk_size
        dd 0                                ; 0x220 bootsect_kludge
        dw 0                                ; 0x224 heap_end_ptr
        db 0, 0                             ; 0x226 ext_loader_ver, ext_loader_type
        dd 0                                ; 0x228 cmd_line_ptr (the loader writes it)
        dd 0x7fffffff                       ; 0x22c initrd_addr_max
        times 0x268 - ($ - $$) db 0         ; the rest of the 2.15 header: zeros

setup_main:
        cli
        mov ax, VGA_SEGMENT
        mov es, ax
        xor di, di
        mov si, message                     ; DS = the setup segment (0x1000)
        mov ah, VGA_ATTR
.print:
        lodsb
        test al, al
        jz setup_done
        out PORT_DEBUGCON, al
        stosw
        jmp .print
setup_done:
        hlt
        jmp setup_done

message:
        db "bzImage guest: hello from the real-mode setup code", 0

        times (1 + SETUP_SECTS) * SECTOR_SIZE - ($ - $$) db 0

; ---- The protected-mode part (code32_start): never run ------------------
        bits 32
pm_part:
        cli
        hlt
        jmp pm_part
        times (2 + SETUP_SECTS) * SECTOR_SIZE - ($ - $$) db 0
