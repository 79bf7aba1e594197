/*
 * Guest memory as an instruction sees it: segmentation, then paging, then
 * RAM or MMIO. This is the one path every operand access of the assists
 * takes.
 */
#include "x86/x86.h"

#include <errno.h>
#include <string.h>

int
x86_access_gpa(const struct x86_guest *g, uint64_t gpa, enum x86_access acc,
    uint8_t *buf, size_t len)
{
	bool write = acc == X86_ACC_WRITE;

	while (len > 0) {
		size_t n = g->ram(g->opaque, gpa, write, buf, len);

		if (n == 0) {
			if (acc == X86_ACC_FETCH)
				return -EFAULT;
			/*
			 * The hypervisor exits on a write to read-only RAM as
			 * on MMIO, so it goes where NVMM sends it: the VMM.
			 */
			g->mmio(g->opaque, gpa, write, buf, len);
			return 0;
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* The current privilege level: SS.DPL is kept equal to it by VMX and SVM. */
static unsigned
cpl(const struct nvmm_x64_state *st)
{
	if (st->gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_VM)
		return 3;
	if (!(st->crs[NVMM_X64_CR_CR0] & X86_CR0_PE))
		return 0;
	return st->segs[NVMM_X64_SEG_SS].attrib.dpl;
}

/*
 * The linear address of seg:off for len bytes. The limit is in bytes, as
 * VMX, SVM and KVM keep it (G already applied).
 */
static int
linear(const struct nvmm_x64_state *st, int seg, uint64_t off, size_t len,
    enum x86_access acc, uint64_t *lin)
{
	const struct nvmm_x64_state_seg *s = &st->segs[seg];
	uint64_t last = off + len - 1;
	unsigned type = s->attrib.type;

	if (x86_code_size(st) == 8) {
		bool based = seg == NVMM_X64_SEG_FS || seg == NVMM_X64_SEG_GS;

		*lin = off + (based ? s->base : 0);
		return 0;
	}
	if (last < off)
		return -EFAULT;
	/* Real and VM86 mode check the limit only. */
	if ((st->crs[NVMM_X64_CR_CR0] & X86_CR0_PE) &&
	    !(st->gprs[NVMM_X64_GPR_RFLAGS] & X86_FLAG_VM)) {
		if (!s->attrib.p)
			return -EFAULT;
		/* Writes need a data segment with W, reads code with R. */
		if (s->attrib.s &&
		    ((acc == X86_ACC_WRITE && (type & 0xA) != 0x2) ||
		    (acc == X86_ACC_READ && (type & 0xA) == 0x8)))
			return -EFAULT;
	}
	/* An expand-down data segment spans limit+1 up to 64K or 4G. */
	if (s->attrib.s && (type & 0xC) == 0x4) {
		uint64_t top = s->attrib.def ? 0xFFFFFFFF : 0xFFFF;

		if (off <= s->limit || last > top)
			return -EFAULT;
	} else if (last > s->limit) {
		return -EFAULT;
	}
	*lin = (uint32_t)(s->base + off);
	return 0;
}

static int
access_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, uint8_t *buf, size_t len, enum x86_access acc)
{
	uint64_t cr0 = st->crs[NVMM_X64_CR_CR0], lin, gpa;
	bool user = cpl(st) == 3, wrap32 = x86_code_size(st) != 8;
	bool write = acc == X86_ACC_WRITE;
	int prot, rc;

	if (seg < 0 || seg > NVMM_X64_SEG_GS)
		return -EINVAL;
	if (len == 0)
		return 0;
	rc = linear(st, seg, off, len, acc, &lin);
	while (rc == 0 && len > 0) {
		size_t n = X86_PAGE_SIZE - (lin & (X86_PAGE_SIZE - 1));

		if (n > len)
			n = len;
		rc = x86_gva_to_gpa(g, st, lin, &gpa, &prot);
		if (rc != 0)
			break;
		/* Supervisor writes ignore R/W unless CR0.WP. */
		if ((user && !(prot & NVMM_PROT_USER)) ||
		    (write && !(prot & NVMM_PROT_WRITE) &&
		    (user || (cr0 & X86_CR0_WP))) ||
		    (acc == X86_ACC_FETCH && !(prot & NVMM_PROT_EXEC)))
			return -EFAULT;
		rc = x86_access_gpa(g, gpa, acc, buf, n);
		lin += n;
		if (wrap32)
			lin = (uint32_t)lin;
		buf += n;
		len -= n;
	}
	return rc;
}

int
x86_read_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, void *buf, size_t len)
{
	return access_virt(g, st, seg, off, buf, len, X86_ACC_READ);
}

int
x86_write_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, const void *buf, size_t len)
{
	/* access_virt only reads from buf when writing. */
	return access_virt(g, st, seg, off, (uint8_t *)(uintptr_t)buf, len,
	    X86_ACC_WRITE);
}

struct probe {
	const struct x86_guest *g;
	bool device;
};

static size_t
probe_ram(void *opaque, uint64_t gpa, bool write, uint8_t *buf, size_t len)
{
	const struct probe *p = opaque;

	return p->g->ram(p->g->opaque, gpa, write, buf, len);
}

static void
probe_mmio(void *opaque, uint64_t gpa, bool write, uint8_t *data,
    size_t size)
{
	struct probe *p = opaque;

	(void)gpa;
	p->device = true;
	if (!write)
		memset(data, 0, size);
}

int
x86_probe_virt(const struct x86_guest *g, const struct nvmm_x64_state *st,
    int seg, uint64_t off, void *buf, size_t len, bool write, bool *device)
{
	struct probe p = { g, false };
	const struct x86_guest pg = { &p, probe_ram, probe_mmio };
	int rc;

	rc = access_virt(&pg, st, seg, off, buf, len,
	    write ? X86_ACC_WRITE : X86_ACC_READ);
	*device = p.device;
	return rc;
}

int
x86_fetch_insn(const struct x86_guest *g, const struct nvmm_x64_state *st,
    uint8_t buf[X86_INSN_MAX])
{
	uint64_t rip = st->gprs[NVMM_X64_GPR_RIP];
	int n;

	if (access_virt(g, st, NVMM_X64_SEG_CS, rip, buf, X86_INSN_MAX,
	    X86_ACC_FETCH) == 0)
		return X86_INSN_MAX;
	/*
	 * A short instruction may end right before unmapped memory or the CS
	 * limit: keep the bytes that can be read.
	 */
	for (n = 0; n < X86_INSN_MAX; n++)
		if (access_virt(g, st, NVMM_X64_SEG_CS, rip + n, buf + n, 1,
		    X86_ACC_FETCH) != 0)
			break;
	return n > 0 ? n : -EFAULT;
}
