/*
 * The firmware tables, read the way an OS reads them: RSDP, then XSDT or
 * RSDT, then the MADT (CPUs, I/O APIC, ISA overrides), the FADT (PM1a
 * control port, CMOS century index) and the DSDT's _S5 package (the S5
 * sleep type).
 * Tables are identity-mapped, so physical addresses are pointers.
 */
#include "guest.h"

struct acpi_info acpi;

static uint32_t
rd32(uint64_t addr)
{
	return *(const uint32_t *)addr;
}

static uint64_t
rd64(uint64_t addr)
{
	return *(const uint64_t *)addr;
}

static bool
sig_is(uint64_t addr, const char *sig, int len)
{
	for (int i = 0; i < len; i++)
		if (((const char *)addr)[i] != sig[i])
			return false;
	return true;
}

/* The legacy search: 16-byte boundaries of the BIOS area. */
static uint64_t
find_rsdp(void)
{
	for (uint64_t a = 0xE0000; a < 0x100000; a += 16)
		if (sig_is(a, "RSD PTR ", 8))
			return a;
	return 0;
}

static uint64_t
find_table(uint64_t rsdp, const char *sig)
{
	/* Revision 2 and later have the XSDT, with 64-bit entries. */
	bool x = *(const uint8_t *)(rsdp + 15) >= 2 && rd64(rsdp + 24) != 0;
	uint64_t sdt = x ? rd64(rsdp + 24) : rd32(rsdp + 16);
	unsigned size = x ? 8 : 4;

	for (uint64_t e = sdt + 36; e < sdt + rd32(sdt + 4); e += size) {
		uint64_t t = x ? rd64(e) : rd32(e);

		if (sig_is(t, sig, 4))
			return t;
	}
	return 0;
}

static void
parse_madt(uint64_t madt)
{
	uint64_t end = madt + rd32(madt + 4);

	acpi.lapic_base = rd32(madt + 36);
	for (int i = 0; i < 16; i++)
		acpi.isa_gsi[i] = i;
	for (uint64_t e = madt + 44; e + 2 <= end; e += *(uint8_t *)(e + 1)) {
		const uint8_t *p = (const uint8_t *)e;

		if (p[1] < 2)
			break;
		if (p[0] == 0 && (rd32(e + 4) & 1) &&
		    acpi.ncpus < GUEST_MAX_CPUS)
			acpi.apic_id[acpi.ncpus++] = p[3];
		else if (p[0] == 1 && acpi.ioapic_base == 0)
			acpi.ioapic_base = rd32(e + 4);
		else if (p[0] == 2 && p[2] == 0 && p[3] < 16) {
			acpi.isa_gsi[p[3]] = rd32(e + 4);
			acpi.isa_flags[p[3]] = *(const uint16_t *)(e + 8);
		}
	}
}

/* Name (_S5, Package () { SLP_TYPa, ... }) in the DSDT's AML. */
static int
find_s5(uint64_t dsdt)
{
	const uint8_t *p = (const uint8_t *)dsdt + 36;
	const uint8_t *end = (const uint8_t *)dsdt + rd32(dsdt + 4);

	for (; p + 8 < end; p++) {
		if (!sig_is((uint64_t)p, "_S5_\x12", 5))
			continue;
		p += 5 + 1 + (p[5] >> 6);	/* PkgLength's extra bytes */
		p++;				/* NumElements */
		if (*p == 0x0A)			/* BytePrefix */
			return p[1];
		return *p == 0x01 ? 1 : 0;	/* OneOp, ZeroOp */
	}
	return -1;
}

bool
acpi_init(uint64_t rsdp)
{
	uint64_t madt, fadt;

	if (rsdp == 0)
		rsdp = find_rsdp();
	if (rsdp == 0) {
		kprintf("acpi: no RSDP\n");
		return false;
	}
	madt = find_table(rsdp, "APIC");
	if (madt == 0) {
		kprintf("acpi: no MADT\n");
		return false;
	}
	parse_madt(madt);
	if (acpi.ioapic_base == 0) {
		kprintf("acpi: no I/O APIC\n");
		return false;
	}
	acpi.slp_typ_s5 = -1;
	fadt = find_table(rsdp, "FACP");
	if (fadt != 0) {
		/* X_DSDT, when the FADT is long enough to have one set. */
		bool x = rd32(fadt + 4) >= 148 && rd64(fadt + 140) != 0;

		acpi.pm1a_cnt = rd32(fadt + 64);
		acpi.century = *(const uint8_t *)(fadt + 108);
		acpi.slp_typ_s5 = find_s5(x ? rd64(fadt + 140) :
		    rd32(fadt + 40));
	}
	return true;
}
