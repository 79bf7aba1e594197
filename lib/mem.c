/*
 * Guest memory: host ranges (nvmm_hva_map) and the guest-physical areas
 * mapped onto them (nvmm_gpa_map), each area a KVM memory slot.
 *
 * On NetBSD nvmm_hva_map() replaces the range with fresh kernel memory; here
 * the caller's mapping is used as it is (its content is kept), and it must
 * exist. Areas are kept sorted by GPA so lookups are a binary search.
 */
#include "nvmm_impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under the write lock: the host memory registered, for nvmm_ctl(). */
static void
hva_total(struct mach *m)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < m->nhmaps; i++)
		total += m->hmaps[i].size;
	m->nram = total;
}

/* Most lookups hit the area the last one found: guest RAM is one or two. */
static const struct area *
area_find(struct mach *m, gpaddr_t gpa)
{
	unsigned i = __atomic_load_n(&m->area_hint, __ATOMIC_RELAXED);

	if (i >= m->nareas || gpa < m->areas[i].gpa ||
	    gpa - m->areas[i].gpa >= m->areas[i].size) {
		i = area_index(m, gpa);
		if (i >= m->nareas || m->areas[i].gpa > gpa)
			return NULL;
		__atomic_store_n(&m->area_hint, i, __ATOMIC_RELAXED);
	}
	return &m->areas[i];
}

/*
 * The assists' only way into guest RAM: the area is looked up and the bytes
 * copied under the read lock, so a map changed meanwhile (by the VMM's
 * callbacks, which run with no lock held, or by another thread) is never
 * reached through a host address found before the change.
 */
size_t
mem_copy(struct mach *m, gpaddr_t gpa, bool write, void *buf, size_t len)
{
	const struct area *a;
	size_t n = 0;

	pthread_rwlock_rdlock(&m->lock);
	a = area_find(m, gpa);
	if (a != NULL &&
	    (a->prot & (write ? NVMM_PROT_WRITE : NVMM_PROT_READ))) {
		uint8_t *p = (uint8_t *)a->hva + (gpa - a->gpa);

		n = a->size - (gpa - a->gpa);
		if (n > len)
			n = len;
		if (write) {
			memcpy(p, buf, n);
			dirty_mark(a, gpa, n);
		} else
			memcpy(buf, p, n);
	}
	pthread_rwlock_unlock(&m->lock);
	return n;
}

static int
area_insert(struct mach *m, const struct area *a)
{
	unsigned i;

	if (m->nareas == m->areas_cap) {
		unsigned cap = m->areas_cap ? m->areas_cap * 2 : 16;
		struct area *n = realloc(m->areas, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		m->areas = n;
		m->areas_cap = cap;
	}
	i = area_index(m, a->gpa);
	memmove(&m->areas[i + 1], &m->areas[i],
	    (m->nareas - i) * sizeof(*a));
	m->areas[i] = *a;
	m->nareas++;
	return 0;
}

static void
area_remove(struct mach *m, unsigned i)
{
	m->nareas--;
	memmove(&m->areas[i], &m->areas[i + 1],
	    (m->nareas - i) * sizeof(m->areas[0]));
}

void
mem_destroy(struct mach *m)
{
	for (unsigned i = 0; i < m->nareas; i++)
		dirty_free(m->areas[i].log);
	free(m->areas);
	m->areas = NULL;
	m->nareas = m->areas_cap = 0;
	m->nhmaps = 0;
}

NVMM_API int
nvmm_hva_map(struct nvmm_machine *mach, uintptr_t hva, size_t size)
{
	struct mach *m;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	if (hva == 0 || !range_ok(hva, size))
		return nvmm_ret(-EINVAL);
	/* The range must be mapped: KVM would fault on it only at run time. */
	if (msync((void *)hva, size, MS_ASYNC) != 0)
		return nvmm_ret(-EFAULT);

	pthread_rwlock_wrlock(&m->lock);
	for (unsigned i = 0; i < m->nhmaps; i++) {
		if (hva < m->hmaps[i].hva + m->hmaps[i].size &&
		    m->hmaps[i].hva < hva + size) {
			r = -EEXIST;
			goto out;
		}
	}
	if (m->nhmaps == NVMM_MAX_HMAPPINGS) {
		r = -ENOBUFS;
		goto out;
	}
	m->hmaps[m->nhmaps].hva = hva;
	m->hmaps[m->nhmaps].size = size;
	m->nhmaps++;
	hva_total(m);
out:
	pthread_rwlock_unlock(&m->lock);
	if (r == 0)
		registry_update(m);
	return nvmm_ret(r);
}

NVMM_API int
nvmm_hva_unmap(struct nvmm_machine *mach, uintptr_t hva, size_t size)
{
	struct mach *m;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);

	pthread_rwlock_wrlock(&m->lock);
	r = -ENOENT;
	for (unsigned i = 0; i < m->nhmaps; i++) {
		if (m->hmaps[i].hva != hva || m->hmaps[i].size != size)
			continue;
		/* Guest memory still mapped from it would dangle. */
		for (unsigned j = 0; j < m->nareas; j++) {
			if (m->areas[j].hva < hva + size &&
			    hva < m->areas[j].hva + m->areas[j].size) {
				r = -EBUSY;
				goto out;
			}
		}
		m->hmaps[i] = m->hmaps[--m->nhmaps];
		hva_total(m);
		r = 0;
		break;
	}
out:
	pthread_rwlock_unlock(&m->lock);
	if (r == 0)
		registry_update(m);
	return nvmm_ret(r);
}

static bool
inside_hmap(const struct mach *m, uintptr_t hva, size_t size)
{
	for (unsigned i = 0; i < m->nhmaps; i++) {
		if (hva >= m->hmaps[i].hva &&
		    hva + size <= m->hmaps[i].hva + m->hmaps[i].size)
			return true;
	}
	return false;
}

static int
prot_to_nvmm(int prot)
{
	return ((prot & PROT_READ) ? NVMM_PROT_READ : 0) |
	    ((prot & PROT_WRITE) ? NVMM_PROT_WRITE : 0) |
	    ((prot & PROT_EXEC) ? NVMM_PROT_EXEC : 0);
}

NVMM_API int
nvmm_gpa_map(struct nvmm_machine *mach, uintptr_t hva, gpaddr_t gpa,
    size_t size, int prot)
{
	struct area a;
	struct mach *m;
	unsigned i;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0 || hva == 0 ||
	    !range_ok(hva, size) || !range_ok(gpa, size) ||
	    gpa + size > NVMM_MAX_RAM)
		return nvmm_ret(-EINVAL);
	/* KVM memory is always readable: an unreadable range can't be had. */
	if (!(prot & PROT_READ))
		return nvmm_ret(-ENOTSUP);

	pthread_rwlock_wrlock(&m->lock);
	if (!inside_hmap(m, hva, size)) {
		r = -EINVAL;
		goto out;
	}
	i = area_index(m, gpa);
	if (i < m->nareas && m->areas[i].gpa < gpa + size) {
		r = -EINVAL;
		goto out;
	}
	a.gpa = gpa;
	a.hva = hva;
	a.size = size;
	a.prot = prot_to_nvmm(prot);
	a.slot = -1;
	a.log = NULL;
	r = kvm_slot_set(m, &a);
	if (r == 0) {
		r = area_insert(m, &a);
		if (r < 0)
			kvm_slot_clear(m, &a);
	}
out:
	pthread_rwlock_unlock(&m->lock);
	return nvmm_ret(r);
}

/*
 * The range must be covered by areas, each mapping it from the same host
 * addresses as given; parts of areas outside it stay mapped (the areas are
 * split).
 */
static int
unmap_range(struct mach *m, uintptr_t hva, gpaddr_t gpa, size_t size)
{
	gpaddr_t end = gpa + size, cur = gpa;
	unsigned first = area_index(m, gpa), i;

	for (i = first; cur < end; i++) {
		const struct area *a = &m->areas[i];

		if (i >= m->nareas || a->gpa > cur ||
		    a->hva + (cur - a->gpa) != hva + (cur - gpa))
			return -ESRCH;
		cur = a->gpa + a->size;
	}

	while (first < m->nareas && m->areas[first].gpa < end) {
		struct area a = m->areas[first], left = a, right = a;
		int r;

		left.size = a.gpa < gpa ? gpa - a.gpa : 0;
		right.gpa = a.gpa + a.size > end ? end : a.gpa + a.size;
		right.hva = a.hva + (right.gpa - a.gpa);
		right.size = a.gpa + a.size - right.gpa;
		left.slot = right.slot = -1;
		r = dirty_split(m, &a, &left, &right);
		if (r == 0)
			r = kvm_slot_clear(m, &a);
		if (r < 0) {
			dirty_free(left.log);
			dirty_free(right.log);
			return r;
		}
		dirty_free(a.log);
		area_remove(m, first);
		if (left.size != 0) {
			r = kvm_slot_set(m, &left);
			if (r == 0)
				r = area_insert(m, &left);
			if (r < 0) {
				dirty_free(left.log);
				dirty_free(right.log);
				return r;
			}
			first++;
		}
		if (right.size != 0) {
			r = kvm_slot_set(m, &right);
			if (r == 0)
				r = area_insert(m, &right);
			if (r < 0) {
				dirty_free(right.log);
				return r;
			}
			first++;
		}
	}
	return 0;
}

NVMM_API int
nvmm_gpa_unmap(struct nvmm_machine *mach, uintptr_t hva, gpaddr_t gpa,
    size_t size)
{
	struct mach *m;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	if (!range_ok(gpa, size) || gpa + size >= NVMM_MAX_RAM)
		return nvmm_ret(-EINVAL);

	pthread_rwlock_wrlock(&m->lock);
	r = unmap_range(m, hva, gpa, size);
	pthread_rwlock_unlock(&m->lock);
	return nvmm_ret(r);
}

NVMM_API int
nvmm_gpa_to_hva(struct nvmm_machine *mach, gpaddr_t gpa, uintptr_t *hva,
    nvmm_prot_t *prot)
{
	const struct area *a;
	struct mach *m;
	int r;

	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	if (hva == NULL || prot == NULL)
		return nvmm_ret(-EFAULT);

	pthread_rwlock_rdlock(&m->lock);
	a = area_find(m, gpa);
	if (a != NULL) {
		*hva = a->hva + (gpa - a->gpa);
		*prot = a->prot;
	}
	pthread_rwlock_unlock(&m->lock);
	return nvmm_ret(a != NULL ? 0 : -ENOENT);
}
