/* The port and MMIO dispatcher. */
#include "t.h"

#include <errno.h>

#include "hw/bus.h"

struct probe {
	uint64_t offset;
	uint64_t wrote;
	unsigned size, calls;
	bool is_write;
};

static void
probe_io(void *opaque, uint64_t offset, void *data, unsigned size,
    bool is_write)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->size = size;
	p->is_write = is_write;
	p->calls++;
	if (is_write)
		p->wrote = bus_get(data, size);
	else
		bus_put(data, size, 0x8877665544332211ULL + offset);
}

TEST(bus_dispatch_by_offset)
{
	struct bus bus = { 0 };
	struct probe a = { 0 }, b = { 0 };
	uint32_t v = 0;

	T_EQ(bus_register(&bus, BUS_PIO, 0x3F8, 8, probe_io, &a), 0);
	T_EQ(bus_register(&bus, BUS_PIO, 0x20, 2, probe_io, &b), 0);
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x3FD, &v, 1, false), 0);
	T_EQ(a.offset, 5);
	T_EQ(a.size, 1);
	T_EQ(v, 0x16);
	v = 0xABCD;
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x21, &v, 2, true), 0);
	T_EQ(b.offset, 1);
	T_EQ(b.wrote, 0xABCD);
	T_ASSERT(b.is_write);
	T_EQ(a.calls, 1);
	/* The range holding the first byte takes a straddling access. */
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x3FF, &v, 4, false), 0);
	T_EQ(a.offset, 7);
	T_EQ(a.size, 4);
	bus_destroy(&bus);
}

TEST(bus_unclaimed)
{
	struct bus bus = { 0 };
	struct probe a = { 0 };
	uint64_t v = 0;

	T_EQ(bus_register(&bus, BUS_MMIO, 0xFEE00000, 0x1000, probe_io, &a), 0);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEDFFFFF, &v, 8, false), -ENOENT);
	T_EQ(v, 0xFFFFFFFFFFFFFFFF);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEE01000, &v, 4, true), -ENOENT);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEE01000, &v, 4, true), -ENOENT);
	/* The spaces are apart: this port is not the MMIO page. */
	v = 0;
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0xFEE00000, &v, 2, false), -ENOENT);
	T_EQ(v, 0xFFFF);
	T_EQ(bus.unclaimed_reads, 2);
	T_EQ(bus.unclaimed_writes, 2);
	T_EQ(a.calls, 0);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEE00FFC, &v, 4, false), 0);
	T_EQ(a.offset, 0xFFC);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEE00000, &v, 0, false), -EINVAL);
	T_EQ(bus_dispatch(&bus, BUS_MMIO, 0xFEE00000, &v, 9, false), -EINVAL);
	bus_destroy(&bus);
}

TEST(bus_overlaps_rejected)
{
	struct bus bus = { 0 };
	struct probe a = { 0 };

	T_EQ(bus_register(&bus, BUS_PIO, 0x40, 4, probe_io, &a), 0);
	T_EQ(bus_register(&bus, BUS_PIO, 0x43, 1, probe_io, &a), -EEXIST);
	T_EQ(bus_register(&bus, BUS_PIO, 0x3C, 5, probe_io, &a), -EEXIST);
	T_EQ(bus_register(&bus, BUS_PIO, 0x30, 0x20, probe_io, &a), -EEXIST);
	T_EQ(bus_register(&bus, BUS_PIO, 0x3C, 4, probe_io, &a), 0);
	T_EQ(bus_register(&bus, BUS_PIO, 0x44, 1, probe_io, &a), 0);
	T_EQ(bus_register(&bus, BUS_PIO, 0x50, 0, probe_io, &a), -EINVAL);
	T_EQ(bus_register(&bus, BUS_MMIO, UINT64_MAX, 2, probe_io, &a),
	    -EINVAL);
	T_EQ(bus_register(&bus, BUS_MMIO, UINT64_MAX, 1, probe_io, &a), 0);
	T_EQ(bus_register(&bus, BUS_NSPACES, 0, 1, probe_io, &a), -EINVAL);
	/* The same port in the other space is no overlap. */
	T_EQ(bus_register(&bus, BUS_MMIO, 0x40, 4, probe_io, &a), 0);
	bus_destroy(&bus);
}

TEST(bus_many_ranges_sorted)
{
	struct bus bus = { 0 };
	struct probe p[100] = { 0 };
	uint8_t v;

	/* Registered out of order, found by binary search. */
	for (unsigned i = 0; i < 100; i++) {
		unsigned k = (i * 37) % 100;

		T_EQ(bus_register(&bus, BUS_PIO, 0x1000 + 0x10 * k, 0x10,
		    probe_io, &p[k]), 0);
	}
	for (unsigned k = 0; k < 100; k++) {
		T_EQ(bus_dispatch(&bus, BUS_PIO, 0x1000 + 0x10 * k + 3, &v, 1,
		    false), 0);
		T_EQ(p[k].calls, 1);
		T_EQ(p[k].offset, 3);
	}
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x1000 + 0x10 * 100, &v, 1, false),
	    -ENOENT);
	bus_destroy(&bus);
}

TEST(bus_ignore_sink)
{
	struct bus bus = { 0 };
	uint8_t v = 0x12;

	T_EQ(bus_register(&bus, BUS_PIO, 0x80, 1, bus_ignore, NULL), 0);
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x80, &v, 1, true), 0);
	T_EQ(bus_dispatch(&bus, BUS_PIO, 0x80, &v, 1, false), 0);
	T_EQ(v, 0xFF);
	T_EQ(bus.unclaimed_reads + bus.unclaimed_writes, 0);
	bus_destroy(&bus);
}
