/* Port and MMIO dispatch: a sorted array of ranges per space. */
#include "bus.h"

#include <errno.h>
#include <stdlib.h>

void
bus_destroy(struct bus *bus)
{
	for (int s = 0; s < BUS_NSPACES; s++)
		free(bus->space[s].ranges);
	*bus = (struct bus){ 0 };
}

/* The index of the first range whose base is above ADDR. */
static size_t
upper_bound(const struct bus_range *r, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
bus_register(struct bus *bus, enum bus_space space, uint64_t base,
    uint64_t len, bus_handler *fn, void *opaque)
{
	struct bus_range *r;
	size_t i, n;

	if ((unsigned)space >= BUS_NSPACES || len == 0 ||
	    base + (len - 1) < base || fn == NULL)
		return -EINVAL;
	r = bus->space[space].ranges;
	n = bus->space[space].n;
	i = upper_bound(r, n, base);
	if ((i > 0 && r[i - 1].base + (r[i - 1].len - 1) >= base) ||
	    (i < n && base + (len - 1) >= r[i].base))
		return -EEXIST;
	if (n == bus->space[space].cap) {
		size_t cap = n ? 2 * n : 16;

		r = realloc(r, cap * sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		bus->space[space].ranges = r;
		bus->space[space].cap = cap;
	}
	memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
	r[i] = (struct bus_range){ base, len, fn, opaque };
	bus->space[space].n = n + 1;
	return 0;
}

int
bus_dispatch(struct bus *bus, enum bus_space space, uint64_t addr,
    void *data, unsigned size, bool is_write)
{
	const struct bus_range *r;
	size_t i;

	if ((unsigned)space >= BUS_NSPACES || size == 0 || size > 8)
		return -EINVAL;
	r = bus->space[space].ranges;
	i = upper_bound(r, bus->space[space].n, addr);
	if (i > 0 && addr - r[i - 1].base < r[i - 1].len) {
		r[i - 1].fn(r[i - 1].opaque, addr - r[i - 1].base, data, size,
		    is_write);
		return 0;
	}
	if (is_write) {
		bus->unclaimed_writes++;
	} else {
		memset(data, 0xFF, size);
		bus->unclaimed_reads++;
	}
	return -ENOENT;
}

void
bus_ignore(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0xFF, size);
}
