/*
 * Dirty-page tracking (nvmmx_dirty_*).
 *
 * KVM logs writes per memory slot, that is per area, and hands the log
 * over whole, clearing it. Tracked ranges may cover part of an area, so
 * each tracked area keeps its own bitmap of the dirty pages not yet
 * fetched: a fetch takes KVM's log into it, then hands out and clears only
 * the pages asked for. What the library writes to guest RAM on the guest's
 * behalf (the assists) is marked there at once: KVM stores it again only
 * when it completes the instruction, at the next run.
 */
#include "nvmm_impl.h"

#include <stdlib.h>
#include <string.h>

struct dirty_log {
	uint64_t nwords;
	uint64_t *tracked;	/* pages in a tracked range */
	uint64_t *dirty;	/* tracked pages written and not yet fetched */
	uint64_t *kvm;		/* KVM's log, as last read */
	uint64_t words[];
};

static uint64_t
npages(const struct area *a)
{
	return a->size / NVMM_PAGE_SIZE;
}

static struct dirty_log *
log_alloc(uint64_t pages)
{
	uint64_t n = (pages + 63) / 64;
	struct dirty_log *l = calloc(1, sizeof(*l) + 3 * n * sizeof(uint64_t));

	if (l == NULL)
		return NULL;
	l->nwords = n;
	l->tracked = l->words;
	l->dirty = l->words + n;
	l->kvm = l->words + 2 * n;
	return l;
}

void
dirty_free(struct dirty_log *l)
{
	free(l);
}

/* The bits of word w that fall in pages [lo, hi). */
static uint64_t
word_mask(uint64_t w, uint64_t lo, uint64_t hi)
{
	uint64_t first = w * 64, mask = ~0ULL;

	if (lo > first)
		mask &= ~0ULL << (lo - first);
	if (hi < first + 64)
		mask &= ~(~0ULL << (hi - first));
	return mask;
}

/* Moves the set bits of src in [lo, hi) to dst from bit at (src loses them). */
static void
move_bits(uint64_t *dst, uint64_t at, uint64_t *src, uint64_t lo, uint64_t hi)
{
	for (uint64_t w = lo / 64; w * 64 < hi; w++) {
		uint64_t bits = src[w] & word_mask(w, lo, hi);

		src[w] &= ~bits;
		while (bits != 0) {
			uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(bits) -
			    lo + at;

			dst[i / 64] |= 1ULL << (i % 64);
			bits &= bits - 1;
		}
	}
}

static bool
any_bits(const uint64_t *map, uint64_t lo, uint64_t hi)
{
	for (uint64_t w = lo / 64; w * 64 < hi; w++)
		if (map[w] & word_mask(w, lo, hi))
			return true;
	return false;
}

static bool
all_bits(const uint64_t *map, uint64_t lo, uint64_t hi)
{
	for (uint64_t w = lo / 64; w * 64 < hi; w++)
		if ((map[w] & word_mask(w, lo, hi)) != word_mask(w, lo, hi))
			return false;
	return true;
}

/* Under the read lock: mem_copy() wrote len bytes at gpa. */
void
dirty_mark(const struct area *a, gpaddr_t gpa, size_t len)
{
	struct dirty_log *l = a->log;
	uint64_t lo, hi;

	if (l == NULL || len == 0)
		return;
	lo = (gpa - a->gpa) / NVMM_PAGE_SIZE;
	hi = (gpa - a->gpa + len - 1) / NVMM_PAGE_SIZE + 1;
	for (uint64_t w = lo / 64; w * 64 < hi; w++)
		__atomic_fetch_or(&l->dirty[w], word_mask(w, lo, hi) &
		    l->tracked[w], __ATOMIC_RELAXED);
}

/* KVM's log of the area into its bitmap, for the pages tracked. */
static int
harvest(struct mach *m, struct area *a)
{
	struct dirty_log *l = a->log;
	int r;

	r = kvm_dirty_log(m, a, l->kvm);
	if (r < 0)
		return r;
	for (uint64_t w = 0; w < l->nwords; w++)
		l->dirty[w] |= l->kvm[w] & l->tracked[w];
	return 0;
}

/*
 * Before nvmm_gpa_unmap() replaces area a by its parts left and right
 * (either may be empty): each part that holds tracked pages gets their
 * tracking and dirty bits; those of the part unmapped are dropped. KVM's
 * log goes with a's slot, so it is read first.
 */
int
dirty_split(struct mach *m, struct area *a, struct area *left,
    struct area *right)
{
	struct area *parts[2] = { left, right };
	struct dirty_log *l = a->log;
	int r;

	left->log = right->log = NULL;
	if (l == NULL)
		return 0;
	r = harvest(m, a);
	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		struct area *p = parts[i];
		uint64_t lo = (p->gpa - a->gpa) / NVMM_PAGE_SIZE;

		if (p->size == 0 || !any_bits(l->tracked, lo, lo + npages(p)))
			continue;
		p->log = log_alloc(npages(p));
		if (p->log == NULL) {
			dirty_free(left->log);
			left->log = NULL;
			return -ENOMEM;
		}
	}
	for (int i = 0; i < 2; i++) {
		struct area *p = parts[i];
		uint64_t lo = (p->gpa - a->gpa) / NVMM_PAGE_SIZE;

		if (p->log == NULL)
			continue;
		move_bits(p->log->tracked, 0, l->tracked, lo, lo + npages(p));
		move_bits(p->log->dirty, 0, l->dirty, lo, lo + npages(p));
	}
	return 0;
}

enum op { OP_START, OP_STOP, OP_FETCH };

/*
 * Checks that every page of the range is mapped (ENOENT) and, for START,
 * untracked (EBUSY), or else tracked (ENOENT). Returns the first area.
 */
static int
check(struct mach *m, gpaddr_t gpa, size_t size, enum op op, unsigned *first)
{
	gpaddr_t cur = gpa, end = gpa + size;
	unsigned i = area_index(m, gpa);

	*first = i;
	for (; cur < end; i++) {
		const struct area *a;
		uint64_t lo, hi;

		if (i >= m->nareas || m->areas[i].gpa > cur)
			return -ENOENT;
		a = &m->areas[i];
		lo = (cur - a->gpa) / NVMM_PAGE_SIZE;
		cur = a->gpa + a->size < end ? a->gpa + a->size : end;
		hi = (cur - a->gpa) / NVMM_PAGE_SIZE;
		if (op == OP_START && a->log != NULL &&
		    any_bits(a->log->tracked, lo, hi))
			return -EBUSY;
		if (op != OP_START &&
		    (a->log == NULL || !all_bits(a->log->tracked, lo, hi)))
			return -ENOENT;
	}
	return 0;
}

static void
set_bits(uint64_t *map, uint64_t lo, uint64_t hi, bool set)
{
	for (uint64_t w = lo / 64; w * 64 < hi; w++) {
		if (set)
			map[w] |= word_mask(w, lo, hi);
		else
			map[w] &= ~word_mask(w, lo, hi);
	}
}

/*
 * Pages [lo, hi) of area a: start or stop their tracking, or fetch them
 * into bitmap from bit at.
 */
static int
apply(struct mach *m, struct area *a, uint64_t lo, uint64_t hi, enum op op,
    uint64_t *bitmap, uint64_t at)
{
	struct dirty_log *l = a->log;
	int r;

	switch (op) {
	case OP_START:
		if (l == NULL) {
			l = a->log = log_alloc(npages(a));
			if (l == NULL)
				return -ENOMEM;
			r = kvm_slot_log(m, a);
			if (r < 0) {
				a->log = NULL;
				dirty_free(l);
				return r;
			}
		} else {
			/* Writes logged before the start are not the new pages'. */
			r = harvest(m, a);
			if (r < 0)
				return r;
		}
		set_bits(l->tracked, lo, hi, true);
		return 0;
	case OP_STOP:
		set_bits(l->tracked, lo, hi, false);
		set_bits(l->dirty, lo, hi, false);
		if (any_bits(l->tracked, 0, npages(a)))
			return 0;
		a->log = NULL;
		r = kvm_slot_log(m, a);
		if (r < 0) {
			a->log = l;	/* logging stays on, with nothing tracked */
			return r;
		}
		dirty_free(l);
		return 0;
	case OP_FETCH:
		break;
	}
	r = harvest(m, a);
	if (r == 0)
		move_bits(bitmap, at, l->dirty, lo, hi);
	return r;
}

/* Applies op to the range, whose check passed, area by area. */
static int
walk(struct mach *m, gpaddr_t gpa, gpaddr_t end, unsigned i, enum op op,
    uint64_t *bitmap)
{
	int r = 0;

	for (gpaddr_t cur = gpa; cur < end; i++) {
		struct area *a = &m->areas[i];
		gpaddr_t next = a->gpa + a->size < end ? a->gpa + a->size : end;

		r = apply(m, a, (cur - a->gpa) / NVMM_PAGE_SIZE,
		    (next - a->gpa) / NVMM_PAGE_SIZE, op, bitmap,
		    (cur - gpa) / NVMM_PAGE_SIZE);
		if (r < 0) {
			/* A start is all or nothing. */
			if (op == OP_START && cur > gpa)
				walk(m, gpa, cur, area_index(m, gpa),
				    OP_STOP, NULL);
			return r;
		}
		cur = next;
	}
	return r;
}

static int
dirty_op(struct nvmm_machine *mach, gpaddr_t gpa, size_t size, enum op op,
    uint64_t *bitmap)
{
	struct mach *m;
	unsigned i;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return r;
	if (!range_ok(gpa, size))
		return -EINVAL;
	if (op == OP_FETCH && bitmap == NULL)
		return -EFAULT;

	pthread_rwlock_wrlock(&m->lock);
	r = check(m, gpa, size, op, &i);
	if (r == 0 && op == OP_FETCH)
		memset(bitmap, 0, (size / NVMM_PAGE_SIZE + 63) / 64 * 8);
	if (r == 0)
		r = walk(m, gpa, gpa + size, i, op, bitmap);
	pthread_rwlock_unlock(&m->lock);
	return r;
}

NVMM_API int
nvmmx_dirty_start(struct nvmm_machine *mach, gpaddr_t gpa, size_t size)
{
	return nvmm_ret(dirty_op(mach, gpa, size, OP_START, NULL));
}

NVMM_API int
nvmmx_dirty_stop(struct nvmm_machine *mach, gpaddr_t gpa, size_t size)
{
	return nvmm_ret(dirty_op(mach, gpa, size, OP_STOP, NULL));
}

NVMM_API int
nvmmx_dirty_fetch(struct nvmm_machine *mach, gpaddr_t gpa, size_t size,
    uint64_t *bitmap)
{
	return nvmm_ret(dirty_op(mach, gpa, size, OP_FETCH, bitmap));
}
