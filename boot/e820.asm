; e820.asm: collect the BIOS memory map (INT 15h EAX=E820h).
;
; Who calls: stage2.asm. On entry and exit: real mode, CS = DS = ES = 0.
; Out: boot_info.e820_count entries of 24 bytes at boot_info.e820_map
;   (base u64, length u64, type u32, ACPI 3.0 attributes u32). A BIOS without
;   E820 leaves count 0: the kernel reports it, booting goes on.
; Clobbers: EAX, EBX, ECX, EDX, DI, BP.
;
; Why: only the firmware knows which physical ranges are RAM and which are
; ROM, device memory or ACPI tables; after we leave real mode it cannot be
; asked any more. (ACPI spec, "System Address Map Interfaces".)

%include "bootlab.inc"
%include "macros.inc"

bits 16
section .text16 progbits alloc exec nowrite

global read_e820
read_e820:
    mov di, BOOT_INFO_ADDR + BI_E820_MAP   ; ES:DI = where the BIOS writes
    xor ebx, ebx               ; continuation value: 0 = first entry
    xor bp, bp                 ; entries stored so far
.next:
    mov eax, BIOS_E820
    mov edx, E820_SMAP
    mov ecx, E820_ENTRY_SIZE
    mov dword [di + E820_ENTRY_SIZE - 4], 1  ; "valid" if the BIOS skips ACPI 3.0 attributes
    int BIOS_SYSTEM_INT
    jc .done                   ; carry: no (more) entries
    cmp eax, E820_SMAP
    jne .done                  ; a BIOS without E820 answers something else
    inc bp
    add di, E820_ENTRY_SIZE
    test ebx, ebx
    jz .done                   ; EBX = 0: that was the last entry
    cmp bp, E820_MAX_ENTRIES
    jb .next
.done:
    mov [BOOT_INFO_ADDR + BI_E820_COUNT], bp
global e820_done
e820_done: MAGIC_BREAK
    ret
