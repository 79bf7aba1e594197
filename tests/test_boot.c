/*
 * vmm/boot: guest RAM, the e820 map and the ACPI tables, parsed back at
 * the offsets the ACPI specification gives; and the helpers the loader
 * tests share.
 */
#include "test_boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct boot_ram ram;

void
ram_new(uint64_t mem)
{
	void *host;

	/* Exact-size heap RAM lets ASan catch a stray write; above 1 GiB
	 * only mmap can give it without touching it. */
	if (mem <= GiB)
		host = calloc(1, mem);
	else
		host = mmap(NULL, mem, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	T_ASSERT(host != NULL && host != MAP_FAILED);
	T_OK(boot_ram_init(&ram, host, mem));
}

uint8_t *
gpa(uint64_t addr, uint64_t len)
{
	uint8_t *p = boot_gpa(&ram, addr, len);

	if (p == NULL)
		t_fail(__FILE__, __LINE__, "0x%llx+0x%llx is not RAM",
		    (unsigned long long)addr, (unsigned long long)len);
	return p;
}

uint64_t
rd(const void *p, int size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

void
wr(void *p, int size, uint64_t v)
{
	memcpy(p, &v, size);
}

void *
dup_image(const void *image, size_t len)
{
	void *p = malloc(len ? len : 1);

	T_ASSERT(p != NULL);
	memcpy(p, image, len);
	return p;
}

void
load_ok(const void *kernel, size_t len, const char *cmdline,
    const void *initrd, size_t initrd_len, struct boot_cpu *cpu)
{
	char err[128] = "";
	int r = boot_load_linux(&ram, kernel, len, cmdline, initrd, initrd_len,
	    2, cpu, err, sizeof(err));

	if (r != 0)
		t_fail(__FILE__, __LINE__, "load: %d: %s", r, err);
}

void
load_fails(const void *kernel, size_t len, const char *cmdline,
    size_t initrd_len, int code, const char *msg)
{
	void *initrd = initrd_len ? calloc(1, initrd_len) : NULL;
	struct boot_cpu cpu;
	char err[160] = "";
	int r;

	r = boot_load_linux(&ram, kernel, len, cmdline, initrd, initrd_len, 2,
	    &cpu, err, sizeof(err));
	if (r != code || strcmp(err, msg) != 0)
		t_fail(__FILE__, __LINE__, "want %d \"%s\", got %d \"%s\"",
		    code, msg, r, err);
	free(initrd);
}

void
check_flat_seg(const struct boot_seg *s, uint16_t selector, uint8_t type,
    uint8_t db, uint8_t l)
{
	T_EQ(s->selector, selector);
	T_EQ(s->base, 0);
	T_EQ(s->limit, 0xFFFFFFFF);
	T_EQ(s->type, type);
	T_EQ(s->s, 1);
	T_EQ(s->dpl, 0);
	T_EQ(s->p, 1);
	T_EQ(s->db, db);
	T_EQ(s->l, l);
	T_EQ(s->g, 1);
}

void
check_tables(const struct boot_cpu *cpu, uint64_t code_desc)
{
	const uint8_t *gdt = gpa(PC_BOOT_GDT, 32);

	T_EQ(cpu->gdt_base, PC_BOOT_GDT);
	T_EQ(cpu->gdt_limit, 31);
	T_EQ(rd(gdt, 8), 0);
	T_EQ(rd(gdt + 8, 8), 0);
	T_EQ(rd(gdt + 0x10, 8), code_desc);
	T_EQ(rd(gdt + 0x18, 8), 0x00CF93000000FFFF);
	check_flat_seg(&cpu->ds, 0x18, 3, 1, 0);
	check_flat_seg(&cpu->es, 0x18, 3, 1, 0);
	check_flat_seg(&cpu->ss, 0x18, 3, 1, 0);
	check_flat_seg(&cpu->fs, 0x18, 3, 1, 0);
	check_flat_seg(&cpu->gs, 0x18, 3, 1, 0);
	T_EQ(cpu->tr.selector, 0);
	T_EQ(cpu->tr.base, 0);
	T_EQ(cpu->tr.limit, 0x67);
	T_EQ(cpu->tr.type, 0xB);
	T_EQ(cpu->tr.s, 0);
	T_EQ(cpu->tr.p, 1);
	T_EQ(cpu->tr.g, 0);
	T_EQ(cpu->ldtr.selector, 0);
	T_EQ(cpu->ldtr.limit, 0xFFFF);
	T_EQ(cpu->ldtr.type, 2);
	T_EQ(cpu->ldtr.s, 0);
	T_EQ(cpu->ldtr.p, 1);
	T_EQ(cpu->rsp, PC_BOOT_STACK);
	T_EQ(cpu->rflags, 0x2);
}

void
check_memmap(const uint8_t *table, int entry_size, int n)
{
	struct boot_e820 map[BOOT_E820_MAX];

	T_EQ(n, boot_e820(&ram, map));
	for (int i = 0; i < n; i++) {
		const uint8_t *e = table + i * entry_size;

		T_EQ(rd(e, 8), map[i].addr);
		T_EQ(rd(e + 8, 8), map[i].size);
		T_EQ(rd(e + 16, 4), map[i].type);
	}
}

TEST(ram_init_checks_size)
{
	static uint8_t buf[4096];
	struct boot_ram r;

	T_EQ(boot_ram_init(&r, buf, BOOT_RAM_MIN - 4096), -EINVAL);
	T_EQ(boot_ram_init(&r, buf, BOOT_RAM_MIN + 1), -EINVAL);
	T_EQ(boot_ram_init(&r, NULL, BOOT_RAM_MIN), -EINVAL);
	T_EQ(boot_ram_init(&r, buf, 3 * GiB + 4096), 0);
	T_EQ(r.low, 3 * GiB);
	T_EQ(r.mem, 3 * GiB + 4096);
}

TEST(gpa_bounds_low_ram)
{
	ram_new(64 * MiB);
	T_ASSERT(boot_gpa(&ram, 0, 64 * MiB) == ram.host);
	T_ASSERT(boot_gpa(&ram, 64 * MiB - 1, 1) == ram.host + 64 * MiB - 1);
	T_ASSERT(boot_gpa(&ram, 64 * MiB - 1, 2) == NULL);
	T_ASSERT(boot_gpa(&ram, 64 * MiB, 1) == NULL);
	T_ASSERT(boot_gpa(&ram, 16, UINT64_MAX) == NULL);
	T_ASSERT(boot_gpa(&ram, UINT64_MAX, 2) == NULL);
	T_ASSERT(boot_gpa(&ram, PC_HIGH_RAM, 1) == NULL);
}

TEST(gpa_bounds_high_ram)
{
	ram_new(3 * GiB + 8 * MiB);
	T_ASSERT(boot_gpa(&ram, 3 * GiB - 1, 1) == ram.host + 3 * GiB - 1);
	T_ASSERT(boot_gpa(&ram, 3 * GiB - 1, 2) == NULL);
	T_ASSERT(boot_gpa(&ram, PC_PCI_HOLE, 1) == NULL);
	T_ASSERT(boot_gpa(&ram, PC_LAPIC_BASE, 4) == NULL);
	T_ASSERT(boot_gpa(&ram, PC_HIGH_RAM, 8 * MiB) == ram.host + 3 * GiB);
	T_ASSERT(boot_gpa(&ram, PC_HIGH_RAM + 8 * MiB - 1, 1) ==
	    ram.host + 3 * GiB + 8 * MiB - 1);
	T_ASSERT(boot_gpa(&ram, PC_HIGH_RAM + 8 * MiB - 1, 2) == NULL);
	T_ASSERT(boot_gpa(&ram, PC_HIGH_RAM + 4096, UINT64_MAX) == NULL);
	T_ASSERT(boot_gpa(&ram, UINT64_MAX - 1, 8) == NULL);
}

static void
check_e820(const struct boot_e820 *e, uint64_t addr, uint64_t size,
    uint32_t type)
{
	T_EQ(e->addr, addr);
	T_EQ(e->size, size);
	T_EQ(e->type, type);
}

TEST(e820_low_ram)
{
	struct boot_e820 map[BOOT_E820_MAX];

	ram_new(64 * MiB);
	T_EQ(boot_e820(&ram, map), 7);
	check_e820(&map[0], 0, 0x9FC00, 1);
	check_e820(&map[1], 0x9FC00, 0xE0000 - 0x9FC00, 2);
	check_e820(&map[2], 0xE0000, 0x10000, 3);
	check_e820(&map[3], 0xF0000, 0x10000, 2);
	check_e820(&map[4], 0x100000, 63 * MiB, 1);
	check_e820(&map[5], 0xFEC00000, 0x1000, 2);
	check_e820(&map[6], 0xFEE00000, 0x1000, 2);
}

TEST(e820_high_ram)
{
	struct boot_e820 map[BOOT_E820_MAX];

	ram_new(4 * GiB);
	T_EQ(boot_e820(&ram, map), 8);
	check_e820(&map[4], 0x100000, 3 * GiB - MiB, 1);
	check_e820(&map[7], 4 * GiB, GiB, 1);
}

static uint8_t
sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len-- > 0)
		s += *p++;
	return s;
}

/* A table by address: its signature, a right length and checksum. */
static const uint8_t *
table(uint64_t addr, const char *sig)
{
	const uint8_t *t = gpa(addr, 36);
	uint32_t len = rd(t + 4, 4);

	T_ASSERT(memcmp(t, sig, 4) == 0);
	T_ASSERT(addr >= PC_ACPI_TABLES &&
	    addr + len <= PC_ACPI_TABLES + PC_ACPI_TABLES_SIZE);
	T_EQ(sum(t, len), 0);
	T_ASSERT(memcmp(t + 10, "NVMM  ", 6) == 0);	/* OEM ID */
	T_ASSERT(memcmp(t + 16, "NVMMRUN ", 8) == 0);	/* OEM table ID */
	T_ASSERT(memcmp(t + 28, "NVMM", 4) == 0);	/* creator ID */
	return t;
}

/* A Generic Address Structure for a port. */
static void
check_gas(const uint8_t *g, int bits, int access, uint64_t port)
{
	T_EQ(g[0], 1);		/* system I/O */
	T_EQ(g[1], bits);
	T_EQ(g[2], 0);
	T_EQ(g[3], access);
	T_EQ(rd(g + 4, 8), port);
}

static void
check_fadt(const uint8_t *f, uint64_t dsdt)
{
	static const uint8_t zero[128];
	uint64_t facs = rd(f + 36, 4);

	T_EQ(rd(f + 4, 4), 276);
	T_EQ(f[8], 6);				/* revision */
	T_ASSERT(memcmp(gpa(facs, 64), "FACS", 4) == 0);
	T_EQ(rd(gpa(facs, 64) + 4, 4), 64);
	T_EQ(gpa(facs, 64)[32], 2);		/* version */
	T_EQ(facs % 64, 0);
	T_EQ(rd(f + 40, 4), dsdt);
	T_EQ(f[45], 0);				/* PM profile */
	T_EQ(rd(f + 46, 2), 9);			/* SCI_INT */
	T_EQ(rd(f + 48, 4), 0);			/* SMI_CMD */
	T_EQ(rd(f + 52, 4), 0);			/* ACPI_ENABLE.. */
	T_EQ(rd(f + 56, 4), 0x600);		/* PM1a_EVT_BLK */
	T_EQ(rd(f + 60, 4), 0);
	T_EQ(rd(f + 64, 4), 0x604);		/* PM1a_CNT_BLK */
	T_EQ(rd(f + 68, 4), 0);
	T_EQ(rd(f + 72, 4), 0);
	T_EQ(rd(f + 76, 4), 0x608);		/* PM_TMR_BLK */
	T_EQ(rd(f + 80, 8), 0);			/* GPE0, GPE1 */
	T_EQ(f[88], 4);				/* PM1_EVT_LEN */
	T_EQ(f[89], 2);				/* PM1_CNT_LEN */
	T_EQ(f[90], 0);
	T_EQ(f[91], 4);				/* PM_TMR_LEN */
	T_EQ(rd(f + 92, 4), 0);
	T_EQ(rd(f + 96, 2), 101);		/* no C2 */
	T_EQ(rd(f + 98, 2), 1001);		/* no C3 */
	T_EQ(rd(f + 100, 8), 0);		/* flush, duty, alarms */
	T_EQ(f[108], 0x32);			/* CENTURY */
	T_EQ(rd(f + 109, 2), 0x5);		/* legacy devices, no VGA */
	T_EQ(rd(f + 112, 4), 0x435);		/* FADT flags */
	check_gas(f + 116, 8, 1, 0xCF9);	/* RESET_REG */
	T_EQ(f[128], 6);			/* RESET_VALUE */
	T_EQ(rd(f + 129, 2), 0);
	T_EQ(rd(f + 132, 8), 0);		/* X_FIRMWARE_CTRL */
	T_EQ(rd(f + 140, 8), dsdt);		/* X_DSDT */
	T_ASSERT(memcmp(f + 148, zero, 276 - 148) == 0);
}

static void
check_madt(const uint8_t *m, int ncpus)
{
	const uint8_t *e = m + 44;

	T_EQ(rd(m + 4, 4), 44 + 8 * ncpus + 12 + 2 * 10);
	T_EQ(rd(m + 36, 4), 0xFEE00000);	/* local APIC address */
	T_EQ(rd(m + 40, 4), 1);			/* PCAT_COMPAT */
	for (int i = 0; i < ncpus; i++, e += 8) {
		T_EQ(e[0], 0);
		T_EQ(e[1], 8);
		T_EQ(e[2], i);			/* processor UID */
		T_EQ(e[3], i);			/* APIC ID */
		T_EQ(rd(e + 4, 4), 1);		/* enabled */
	}
	T_EQ(e[0], 1);				/* I/O APIC */
	T_EQ(e[1], 12);
	T_EQ(e[2], PC_IOAPIC_ID);
	T_EQ(rd(e + 4, 4), 0xFEC00000);
	T_EQ(rd(e + 8, 4), 0);			/* GSI base */
	e += 12;
	T_EQ(e[0], 2);				/* IRQ0 -> GSI2 */
	T_EQ(e[1], 10);
	T_EQ(e[2], 0);
	T_EQ(e[3], 0);
	T_EQ(rd(e + 4, 4), 2);
	T_EQ(rd(e + 8, 2), 0);
	e += 10;
	T_EQ(e[0], 2);				/* SCI: level, high */
	T_EQ(e[3], 9);
	T_EQ(rd(e + 4, 4), 9);
	T_EQ(rd(e + 8, 2), 0xD);
}

static void
check_acpi(uint64_t rsdp_at, int ncpus)
{
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08,
	    0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00 };
	const uint8_t *rsdp = gpa(rsdp_at, 36), *xsdt, *rsdt, *fadt, *dsdt;

	T_EQ(rsdp_at, PC_ACPI_TABLES);
	T_ASSERT(memcmp(rsdp, "RSD PTR ", 8) == 0);
	T_EQ(sum(rsdp, 20), 0);
	T_EQ(sum(rsdp, 36), 0);
	T_ASSERT(memcmp(rsdp + 9, "NVMM  ", 6) == 0);
	T_EQ(rsdp[15], 2);
	T_EQ(rd(rsdp + 20, 4), 36);

	xsdt = table(rd(rsdp + 24, 8), "XSDT");
	rsdt = table(rd(rsdp + 16, 4), "RSDT");
	T_EQ(rd(xsdt + 4, 4), 36 + 16);
	T_EQ(rd(rsdt + 4, 4), 36 + 8);
	T_EQ(rd(xsdt + 36, 8), rd(rsdt + 36, 4));
	T_EQ(rd(xsdt + 44, 8), rd(rsdt + 40, 4));

	fadt = table(rd(xsdt + 36, 8), "FACP");
	dsdt = table(rd(fadt + 40, 4), "DSDT");
	check_fadt(fadt, rd(fadt + 40, 4));
	T_EQ(rd(dsdt + 4, 4), 36 + sizeof(aml));
	T_EQ(dsdt[8], 2);
	T_ASSERT(memcmp(dsdt + 36, aml, sizeof(aml)) == 0);
	check_madt(table(rd(xsdt + 44, 8), "APIC"), ncpus);
}

TEST(acpi_tables_parse_back)
{
	uint64_t rsdp;

	ram_new(64 * MiB);
	T_EQ(boot_acpi(&ram, 4, &rsdp), 0);
	check_acpi(rsdp, 4);
}

TEST(acpi_most_cpus)
{
	uint64_t rsdp;

	ram_new(64 * MiB);
	T_EQ(boot_acpi(&ram, BOOT_MAX_CPUS, &rsdp), 0);
	check_acpi(rsdp, BOOT_MAX_CPUS);
	T_EQ(boot_acpi(&ram, 0, &rsdp), -EINVAL);
	T_EQ(boot_acpi(&ram, BOOT_MAX_CPUS + 1, &rsdp), -EINVAL);
}

/* What an OS without a loader's hint does: scan the BIOS area. */
TEST(acpi_rsdp_found_by_legacy_scan)
{
	uint64_t rsdp, found = 0;

	ram_new(64 * MiB);
	T_EQ(boot_acpi(&ram, 1, &rsdp), 0);
	for (uint64_t a = 0xE0000; a < 0x100000 && !found; a += 16)
		if (memcmp(gpa(a, 8), "RSD PTR ", 8) == 0 &&
		    sum(gpa(a, 20), 20) == 0)
			found = a;
	T_EQ(found, rsdp);
}

TEST(load_rejects_bad_arguments)
{
	static const uint8_t junk[64] = { 1, 2, 3 };
	struct boot_ram tiny;
	struct boot_cpu cpu;
	char err[64];

	ram_new(64 * MiB);
	tiny = (struct boot_ram){ ram.host, MiB, MiB };
	load_fails(junk, sizeof(junk), NULL, 0, -ENOEXEC,
	    "not a bzImage or ELF kernel");
	load_fails(NULL, 0, NULL, 0, -ENOEXEC, "not a bzImage or ELF kernel");
	T_EQ(boot_load_linux(&ram, junk, sizeof(junk), NULL, NULL, 0, 0, &cpu,
	    err, sizeof(err)), -EINVAL);
	T_ASSERT(strcmp(err, "0 CPUs: the PC has 1 to 255") == 0);
	T_EQ(boot_load_linux(&ram, junk, sizeof(junk), NULL, NULL, 0, 256,
	    &cpu, err, sizeof(err)), -EINVAL);
	T_ASSERT(strcmp(err, "256 CPUs: the PC has 1 to 255") == 0);
	T_EQ(boot_load_linux(&tiny, junk, sizeof(junk), NULL, NULL, 0, 1, &cpu,
	    err, sizeof(err)), -EINVAL);
	T_ASSERT(strcmp(err, "guest RAM is smaller than 2 MiB") == 0);
	/* No message buffer is fine too. */
	T_EQ(boot_load_linux(&ram, junk, sizeof(junk), NULL, NULL, 0, 1, &cpu,
	    NULL, 0), -ENOEXEC);
}
