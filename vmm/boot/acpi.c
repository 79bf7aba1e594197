/*
 * The ACPI tables of our PC (ACPI 6.x layouts): just enough for Linux to
 * find the CPUs and the I/O APIC (MADT), the PM block, the SCI and the
 * reset register (FADT), and to power off through _S5 (DSDT).
 */
#include "boot.h"

#include <errno.h>
#include <string.h>

#include "../pc.h"
#include "load.h"

#define OEM_ID		"NVMM  "
#define OEM_TABLE_ID	"NVMMRUN "
#define CREATOR_ID	"NVMM"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;		/* of all 36 */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE	1

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk, x_pm2_cnt_blk, x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "ACPI 6 FADT");

#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
/* Set: no fixed-feature power and sleep buttons. */
#define FADT_PWR_BUTTON		(1u << 4)
#define FADT_SLP_BUTTON		(1u << 5)
#define FADT_RESET_REG_SUP	(1u << 10)

#define BOOT_ARCH_LEGACY_DEVICES	(1u << 0)
#define BOOT_ARCH_VGA_NOT_PRESENT	(1u << 2)

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	(1u << 0)	/* there are 8259s to mask */

struct madt_lapic {
	uint8_t type, length;		/* 0, 8 */
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

#define MADT_LAPIC_ENABLED	(1u << 0)

struct madt_ioapic {
	uint8_t type, length;		/* 1, 12 */
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length;		/* 2, 10 */
	uint8_t bus;			/* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

/* MPS INTI flags: polarity in bits 1:0, trigger mode in bits 3:2. */
#define INTI_ACTIVE_HIGH	0x1
#define INTI_LEVEL		0xC

/* Name (_S5, Package () { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb for S5. */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',	/* NameOp, NameSeg */
	0x12, 0x08, 0x04,		/* PackageOp, PkgLength, NumElements */
	0x0A, PC_ACPI_SLP_TYP_S5,	/* BytePrefix */
	0x0A, PC_ACPI_SLP_TYP_S5,
	0x00, 0x00,			/* ZeroOp */
};

static uint8_t
checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len-- > 0)
		sum += *b++;
	return (uint8_t)-sum;
}

static void
header(struct acpi_header *h, const char *sig, uint32_t length,
    uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Call last, once the whole table is written. */
static void
seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = checksum(h, h->length);
}

/* A bump allocator over the zeroed table area. */
struct area {
	uint8_t *base;
	uint32_t used;
};

static void *
take(struct area *a, uint32_t size, uint32_t align, uint32_t *gpa)
{
	void *p;

	a->used = (a->used + align - 1) & ~(align - 1);
	p = a->base + a->used;
	if (gpa != NULL)
		*gpa = PC_ACPI_TABLES + a->used;
	a->used += size;
	return p;
}

static void
fadt(struct acpi_fadt *f, uint32_t facs, uint32_t dsdt)
{
	header(&f->h, "FACP", sizeof(*f), 6);
	f->firmware_ctrl = facs;
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = PC_ACPI_SCI_IRQ;
	/* No SMI_CMD: the PM block is always in ACPI mode (SCI_EN set). */
	f->pm1a_evt_blk = PC_PORT_PM1A_EVT;
	f->pm1a_cnt_blk = PC_PORT_PM1A_CNT;
	f->pm_tmr_blk = PC_PORT_PM_TMR;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	/* Latencies above 100 and 1000 us say C2 and C3 are unsupported. */
	f->p_lvl2_lat = 101;
	f->p_lvl3_lat = 1001;
	f->century = PC_CMOS_CENTURY;
	/* No 8042 either: its flag stays clear. */
	f->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES |
	    BOOT_ARCH_VGA_NOT_PRESENT;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
	    FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
	f->reset_reg = (struct acpi_gas){ GAS_SYSTEM_IO, 8, 0, GAS_ACCESS_BYTE,
	    PC_PORT_RESET };
	f->reset_value = 0x06;
	seal(&f->h);
}

static void
madt(struct area *a, uint32_t *gpa, int ncpus)
{
	struct acpi_madt *m = take(a, sizeof(*m), 16, gpa);
	struct madt_ioapic *io;
	struct madt_iso *iso;

	m->lapic_addr = PC_LAPIC_BASE;
	m->flags = MADT_PCAT_COMPAT;
	for (int i = 0; i < ncpus; i++) {
		struct madt_lapic *l = take(a, sizeof(*l), 1, NULL);

		*l = (struct madt_lapic){ 0, sizeof(*l), i, i,
		    MADT_LAPIC_ENABLED };
	}
	io = take(a, sizeof(*io), 1, NULL);
	*io = (struct madt_ioapic){ 1, sizeof(*io), PC_IOAPIC_ID, 0,
	    PC_IOAPIC_BASE, 0 };
	/* The PIT drives pin 2 of the I/O APIC; the SCI is level, high. */
	iso = take(a, sizeof(*iso), 1, NULL);
	*iso = (struct madt_iso){ 2, sizeof(*iso), 0, PC_IRQ_PIT, 2, 0 };
	iso = take(a, sizeof(*iso), 1, NULL);
	*iso = (struct madt_iso){ 2, sizeof(*iso), 0, PC_ACPI_SCI_IRQ,
	    PC_ACPI_SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL };
	header(&m->h, "APIC", a->base + a->used - (uint8_t *)m, 5);
	seal(&m->h);
}

/* The RSDT or, with 8-byte entries, the XSDT: pointers to FADT and MADT. */
static uint32_t
sdt(struct area *a, const char *sig, unsigned entry_size, uint32_t fadt_at,
    uint32_t madt_at)
{
	uint32_t at, len = sizeof(struct acpi_header) + 2 * entry_size;
	struct acpi_header *h = take(a, len, 16, &at);

	header(h, sig, len, 1);
	/* Little endian, over zeroed memory: high bytes stay 0. */
	put32((uint8_t *)(h + 1), fadt_at);
	put32((uint8_t *)(h + 1) + entry_size, madt_at);
	seal(h);
	return at;
}

int
boot_acpi(const struct boot_ram *ram, int ncpus, uint64_t *rsdp_gpa)
{
	struct area a = {
		.base = boot_gpa(ram, PC_ACPI_TABLES, PC_ACPI_TABLES_SIZE),
	};
	uint32_t rsdp_at, facs_at, dsdt_at, fadt_at, madt_at;
	struct acpi_header *dsdt;
	struct acpi_facs *facs;
	struct acpi_rsdp *rsdp;

	if (a.base == NULL || ncpus < 1 || ncpus > BOOT_MAX_CPUS)
		return -EINVAL;
	memset(a.base, 0, PC_ACPI_TABLES_SIZE);

	/* The legacy scan looks for the RSDP on 16-byte boundaries. */
	rsdp = take(&a, sizeof(*rsdp), 16, &rsdp_at);
	facs = take(&a, sizeof(*facs), 64, &facs_at);
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	dsdt = take(&a, sizeof(*dsdt) + sizeof(dsdt_aml), 16, &dsdt_at);
	header(dsdt, "DSDT", sizeof(*dsdt) + sizeof(dsdt_aml), 2);
	memcpy(dsdt + 1, dsdt_aml, sizeof(dsdt_aml));
	seal(dsdt);

	fadt(take(&a, sizeof(struct acpi_fadt), 16, &fadt_at), facs_at,
	    dsdt_at);
	madt(&a, &madt_at, ncpus);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt = sdt(&a, "RSDT", 4, fadt_at, madt_at);
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = sdt(&a, "XSDT", 8, fadt_at, madt_at);
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->ext_checksum = checksum(rsdp, sizeof(*rsdp));

	*rsdp_gpa = rsdp_at;
	return 0;
}
