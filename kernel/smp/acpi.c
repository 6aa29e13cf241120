// acpi.c: which CPUs this PC has, from the ACPI MADT (ACPI 6.5, 5.2).
//
// Why ACPI and not the MP table: the MultiProcessor Specification (1.4,
// 1997) is frozen and much current firmware (UEFI above all) no longer
// provides its table; ACPI's MADT is what every current PC has, and what
// Linux reads first (its MP-table code is the fallback). Both BIOSes of the
// lab provide both: SeaBIOS under QEMU an ACPI 1.0 RSDP (revision 0, RSDT
// only) in the BIOS area and an MP floating pointer next to it; Bochs' BIOS
// likewise. Nothing here depends on that: the RSDP is looked for where the
// spec says, every table's checksum is verified, and an XSDT is used when
// the RSDP has one (revision 2 and up).
//
// The path: RSDP -> RSDT (32-bit entries) or XSDT (64-bit) -> the table
// whose signature is "APIC" (the MADT) -> its Processor Local APIC entries.
#include <stddef.h>
#include <stdint.h>
#include "bootlab.h"
#include "smp.h"

#define SIG_RSDP "RSD PTR "        // 5.2.5.3 (8 bytes)
#define SIG_RSDT "RSDT"            // 5.2.7
#define SIG_XSDT "XSDT"            // 5.2.8
#define SIG_MADT "APIC"            // 5.2.12: the Multiple APIC Description Table

struct rsdp {                      // 5.2.5.3
	char signature[8];
	uint8_t checksum;          // over the first RSDP_V1_LENGTH bytes
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;           // revision >= RSDP_REV_XSDT from here on
	uint64_t xsdt;
	uint8_t extended_checksum; // over length bytes
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt_header {                // 5.2.6: the start of every other table
	char signature[4];
	uint32_t length;           // of the whole table, this header included
	uint8_t revision;
	uint8_t checksum;          // all length bytes add up to 0 (mod 256)
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct madt {                      // 5.2.12, Table 5.19
	struct sdt_header h;
	uint32_t lapic_addr;       // not used: each CPU's IA32_APIC_BASE says (lapic.c)
	uint32_t flags;
	uint8_t entries[];         // {type, length, ...} one after the other
} __attribute__((packed));

struct madt_entry {                // every entry starts so
	uint8_t type, length;
} __attribute__((packed));

struct madt_lapic {                // MADT_LOCAL_APIC, 5.2.12.2
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;            // MADT_LAPIC_*
} __attribute__((packed));

_Static_assert(offsetof(struct rsdp, length) == RSDP_V1_LENGTH, "RSDP 1.0 layout");
_Static_assert(sizeof(struct sdt_header) == 36, "ACPI table header");

static int same(const char *a, const char *b, size_t n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static uint8_t sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (const uint8_t *b = p; n--; )
		s += *b++;
	return s;
}

static const struct rsdp *scan(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + RSDP_V1_LENGTH <= end; a += RSDP_ALIGN) {
		const struct rsdp *r = (const struct rsdp *)a;
		if (same(r->signature, SIG_RSDP, sizeof(r->signature)) && sum(r, RSDP_V1_LENGTH) == 0 &&
		    (r->revision < RSDP_REV_XSDT || sum(r, r->length) == 0))
			return r;
	}
	return 0;
}

// A table's header, then (once its length is known) all of it, made
// reachable; 0 unless the signature and the checksum are right.
static const struct sdt_header *table(uint64_t phys, const char *signature)
{
	if (phys_map(phys, sizeof(struct sdt_header), 0))
		return 0;
	const struct sdt_header *h = (const struct sdt_header *)phys;
	if (signature && !same(h->signature, signature, sizeof(h->signature)))
		return 0;
	if (h->length < sizeof(*h) || phys_map(phys, h->length, 0) || sum(h, h->length))
		return 0;
	return h;
}

static const char *read_madt(const struct madt *m, struct cpu_list *cpus)
{
	if (m->h.length < sizeof(*m))
		return "the MADT is shorter than its own header";
	uint32_t size = m->h.length - sizeof(*m);
	for (uint32_t at = 0; at + 2 <= size; at += m->entries[at + 1]) {
		const struct madt_entry *e = (const struct madt_entry *)(m->entries + at);
		if (e->length < 2 || at + e->length > size)
			return "a MADT entry is empty or runs past the table: the MADT is broken";
		if (e->type == MADT_LOCAL_APIC && e->length >= sizeof(struct madt_lapic)) {
			const struct madt_lapic *l = (const void *)e;
			if (!(l->flags & MADT_LAPIC_ENABLED))
				continue;   // absent, or only online-capable: not ours to start
			if (cpus->count < SMP_MAX_CPUS)
				cpus->apic_id[cpus->count++] = l->apic_id;
			cpus->listed++;
		} else if (e->type == MADT_LOCAL_X2APIC) {
			cpus->x2apic_only++;  // IDs above 254 only come this way
		}
	}
	return cpus->count ? 0 : "the MADT lists no enabled local APIC";
}

const char *acpi_find_cpus(struct cpu_list *cpus)
{
	uint64_t ebda = (uint64_t)*(const volatile uint16_t *)BDA_EBDA_SEGMENT << REAL_SEG_SHIFT;
	const struct rsdp *r = ebda ? scan(ebda, ebda + RSDP_EBDA_BYTES) : 0;

	if (!r)
		r = scan(RSDP_BIOS_START, RSDP_BIOS_END);
	if (!r)
		return "no ACPI RSDP (\"RSD PTR \") in the EBDA nor at 0xe0000-0xfffff";
	cpus->rsdp = (uint64_t)r;
	cpus->acpi_revision = r->revision;
	int wide = r->revision >= RSDP_REV_XSDT && r->xsdt;  // 64-bit entries
	const struct sdt_header *root = wide ? table(r->xsdt, SIG_XSDT) : table(r->rsdt, SIG_RSDT);
	if (!root)
		return wide ? "the XSDT's signature or checksum is wrong, or it is above 4 GiB"
			    : "the RSDT's signature or checksum is wrong";
	cpus->root = (uint64_t)root;
	const uint8_t *entries = (const uint8_t *)(root + 1);
	unsigned size = wide ? sizeof(uint64_t) : sizeof(uint32_t);
	unsigned n = (root->length - sizeof(*root)) / size;
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = 0;                  // little-endian, maybe unaligned
		for (unsigned b = 0; b < size; b++)
			at |= (uint64_t)entries[i * size + b] << (b * 8);
		const struct sdt_header *h = table(at, SIG_MADT);
		if (h) {
			cpus->madt = at;
			return read_madt((const struct madt *)h, cpus);
		}
	}
	return wide ? "no MADT (\"APIC\") with a good checksum in the XSDT"
		    : "no MADT (\"APIC\") with a good checksum in the RSDT";
}
