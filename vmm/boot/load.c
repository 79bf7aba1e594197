/* boot_load_linux and the steps its two boot protocols share. */
#include "load.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "../pc.h"

#define PAGE_SIZE	4096u

#define CR0_PE		(1u << 0)
#define CR0_ET		(1u << 4)
#define CR0_PG		(1u << 31)
#define CR4_PAE		(1u << 5)
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)

#define PTE_P		(1u << 0)
#define PTE_RW		(1u << 1)
#define PTE_PS		(1u << 7)

/* Selectors Linux's boot code expects (__BOOT_CS, __BOOT_DS). */
#define SEL_CODE	0x10
#define SEL_DATA	0x18
#define GDT_ENTRIES	4

/* Flat 4 GiB segments, accessed bit set so the CPU never writes the GDT. */
static const struct boot_seg seg_code32 = {
	.selector = SEL_CODE, .limit = 0xFFFFFFFF, .type = 0xB, .s = 1,
	.p = 1, .db = 1, .g = 1,
};
static const struct boot_seg seg_code64 = {
	.selector = SEL_CODE, .limit = 0xFFFFFFFF, .type = 0xB, .s = 1,
	.p = 1, .l = 1, .g = 1,
};
static const struct boot_seg seg_data = {
	.selector = SEL_DATA, .limit = 0xFFFFFFFF, .type = 0x3, .s = 1,
	.p = 1, .db = 1, .g = 1,
};
/* No TSS or LDT is used, but VM entry wants a busy TSS and a usable LDTR. */
static const struct boot_seg seg_tr = {
	.limit = 0x67, .type = 0xB, .p = 1,
};
static const struct boot_seg seg_ldtr = {
	.limit = 0xFFFF, .type = 0x2, .p = 1,
};

void
boot_msg(struct boot_load *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->err != NULL && ld->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
}

int
boot_check_kernel(struct boot_load *ld, uint64_t start, uint64_t end)
{
	if (start < PC_KERNEL)
		return boot_fail(ld, -ENOEXEC,
		    "kernel at 0x%llx would overwrite the boot data below "
		    "1 MiB", (unsigned long long)start);
	if (end <= ld->ram->low)
		return 0;
	if (end <= PC_PCI_HOLE)
		return boot_fail(ld, -ENOMEM,
		    "kernel needs %llu MiB but guest RAM is %llu MiB",
		    mib(end), (unsigned long long)(ld->ram->low >> 20));
	return boot_fail(ld, -ENOEXEC, "kernel at 0x%llx-0x%llx is not in "
	    "guest RAM below 3 GiB", (unsigned long long)start,
	    (unsigned long long)end);
}

int
boot_put_cmdline(struct boot_load *ld, uint64_t max)
{
	const char *s = ld->cmdline != NULL ? ld->cmdline : "";
	size_t n = strlen(s);

	if (max > PC_CMDLINE_MAX - 1)
		max = PC_CMDLINE_MAX - 1;
	if (n > max)
		return boot_fail(ld, -E2BIG, "command line is %zu bytes, the "
		    "kernel takes at most %llu", n, (unsigned long long)max);
	memcpy(boot_gpa(ld->ram, PC_CMDLINE, n + 1), s, n + 1);
	return 0;
}

int
boot_put_initrd(struct boot_load *ld, uint64_t kernel_end, uint64_t limit,
    bool high_ok, uint64_t *addr)
{
	const uint64_t page_mask = ~(uint64_t)(PAGE_SIZE - 1);
	const struct boot_ram *ram = ld->ram;
	uint64_t len = ld->initrd_len, high = ram->mem - ram->low;
	uint64_t top = limit < ram->low ? limit : ram->low;
	uint64_t at = len <= top ? (top - len) & page_mask : 0;

	*addr = 0;
	if (len == 0)
		return 0;
	if (len > top || at < kernel_end) {
		if (!high_ok || len > high)
			return boot_fail(ld, -ENOMEM, "initrd of %llu MiB does "
			    "not fit in guest RAM beside the kernel", mib(len));
		at = (PC_HIGH_RAM + high - len) & page_mask;
	}
	memcpy(boot_gpa(ram, at, len), ld->initrd, len);
	*addr = at;
	return 0;
}

static uint64_t
seg_desc(const struct boot_seg *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xFFFF) | (s->base & 0xFFFFFF) << 16 |
	    (uint64_t)s->type << 40 | (uint64_t)s->s << 44 |
	    (uint64_t)s->dpl << 45 | (uint64_t)s->p << 47 |
	    (limit >> 16 & 0xF) << 48 | (uint64_t)s->l << 53 |
	    (uint64_t)s->db << 54 | (uint64_t)s->g << 55 |
	    (s->base >> 24 & 0xFF) << 56;
}

/* The first 4 GiB, identity-mapped with 2 MiB pages. */
static void
identity_map(const struct boot_ram *ram)
{
	uint8_t *pml4 = boot_gpa(ram, PC_BOOT_PML4, PAGE_SIZE);
	uint8_t *pdpt = boot_gpa(ram, PC_BOOT_PDPT, PAGE_SIZE);
	uint8_t *pd = boot_gpa(ram, PC_BOOT_PD, 4 * PAGE_SIZE);

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	put64(pml4, PC_BOOT_PDPT | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		put64(pdpt + 8 * i,
		    (PC_BOOT_PD + i * PAGE_SIZE) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		put64(pd + 8 * i, i << 21 | PTE_P | PTE_RW | PTE_PS);
}

void
boot_set_entry(struct boot_load *ld, enum boot_entry mode, uint64_t rip)
{
	struct boot_cpu *cpu = ld->cpu;
	uint8_t *gdt = boot_gpa(ld->ram, PC_BOOT_GDT, GDT_ENTRIES * 8);

	memset(cpu, 0, sizeof(*cpu));
	cpu->cs = mode == BOOT_ENTRY_LINUX64 ? seg_code64 : seg_code32;
	cpu->ds = cpu->es = cpu->ss = cpu->fs = cpu->gs = seg_data;
	cpu->tr = seg_tr;
	cpu->ldtr = seg_ldtr;
	memset(gdt, 0, GDT_ENTRIES * 8);
	put64(gdt + SEL_CODE, seg_desc(&cpu->cs));
	put64(gdt + SEL_DATA, seg_desc(&cpu->ds));
	cpu->gdt_base = PC_BOOT_GDT;
	cpu->gdt_limit = GDT_ENTRIES * 8 - 1;

	cpu->rip = rip;
	cpu->rsp = PC_BOOT_STACK;
	cpu->rflags = 0x2;		/* the fixed bit; IF clear */
	cpu->cr0 = CR0_PE | CR0_ET;
	if (mode == BOOT_ENTRY_LINUX64) {
		identity_map(ld->ram);
		cpu->cr0 |= CR0_PG;
		cpu->cr3 = PC_BOOT_PML4;
		cpu->cr4 = CR4_PAE;
		cpu->efer = EFER_LME | EFER_LMA;
		cpu->rsi = PC_ZERO_PAGE;
	} else {
		cpu->rbx = PC_PVH_START_INFO;
	}
}

int
boot_load_linux(const struct boot_ram *ram, const void *kernel,
    size_t kernel_len, const char *cmdline, const void *initrd,
    size_t initrd_len, int ncpus, struct boot_cpu *cpu, char *err,
    size_t errlen)
{
	struct boot_load ld = {
		.ram = ram,
		.image = kernel,
		.len = kernel != NULL ? kernel_len : 0,
		.cmdline = cmdline,
		.initrd = initrd,
		.initrd_len = initrd != NULL ? initrd_len : 0,
		.cpu = cpu,
		.err = err,
		.errlen = errlen,
	};

	if (boot_gpa(ram, 0, BOOT_RAM_MIN) == NULL)
		return boot_fail(&ld, -EINVAL, "guest RAM is smaller than "
		    "%u MiB", BOOT_RAM_MIN >> 20);
	if (boot_acpi(ram, ncpus, &ld.rsdp) != 0)
		return boot_fail(&ld, -EINVAL, "%d CPUs: the PC has 1 to %d",
		    ncpus, BOOT_MAX_CPUS);
	if (ld.len >= SELFMAG && memcmp(ld.image, ELFMAG, SELFMAG) == 0)
		return boot_load_elf(&ld);
	return boot_load_bzimage(&ld);
}
