; paging.asm: identity-map the first 1 GiB with 4-level paging structures.
;
; Who calls: pm32.asm. On entry and exit: 32-bit protected mode, paging off,
;   flat data segments.
; Out: PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] maps the 2 MiB page i at
;   physical i * 2 MiB (PS=1), present and writable. Nothing above 1 GiB is
;   mapped: an access there is a page fault with CR2 = the address.
; Clobbers: EAX, ECX, EDI.
;
; Why identity: the instruction after "mov cr0, eax" (PG=1) is fetched through
; the new tables at the same address it had before, so that address must map
; to itself (SDM Vol. 3A 9.8.5 "Initializing IA-32e Mode").

%include "bootlab.inc"
%include "macros.inc"

bits 32
section .text32 progbits alloc exec nowrite

PAGING_TABLES equ 3            ; PML4, PDPT and PD, one 4 KiB page each

global build_page_tables
build_page_tables:
    ; Not-present entries must read as 0: this memory was never cleared.
    mov edi, PML4_ADDR
    xor eax, eax
    mov ecx, PAGING_TABLES * PAGE_SIZE / 4
    rep stosd

    mov dword [PML4_ADDR], PDPT_ADDR | PTE_P | PTE_RW
%ifdef BUG_NO_PDPTE             ; lab bug (lab/15): the entry lacks its present bit
    mov dword [PDPT_ADDR], PD_ADDR | PTE_RW
%else
    mov dword [PDPT_ADDR], PD_ADDR | PTE_P | PTE_RW
%endif

    mov edi, PD_ADDR
    mov eax, PTE_P | PTE_RW | PTE_PS   ; physical address 0
    mov ecx, PT_ENTRIES
.fill:
    mov [edi], eax             ; the high dword stays 0: all below 4 GiB
    add eax, LARGE_PAGE_SIZE
    add edi, 8
    loop .fill
global page_tables_built
page_tables_built: MAGIC_BREAK
    ret
