/*
 * The I/O dispatcher of nvmm-run, in kvmtool's manner: devices register
 * port or MMIO ranges with one handler, and each exit is looked up and
 * dispatched here.
 *
 * As on the ISA bus, the range holding an access's first byte takes the
 * whole access: a dword at 0xCF8 goes to the PCI address register even
 * though 0xCF9 is the reset control register. Unclaimed reads return all
 * ones and unclaimed writes are dropped; both are counted.
 */
#ifndef HW_BUS_H
#define HW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* DATA holds SIZE bytes, little endian; OFFSET is from the range's base. */
typedef void bus_handler(void *opaque, uint64_t offset, void *data,
    unsigned size, bool is_write);

enum bus_space {
	BUS_PIO,
	BUS_MMIO,
	BUS_NSPACES,
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler *fn;
	void *opaque;
};

struct bus {
	struct {
		struct bus_range *ranges;	/* sorted by base */
		size_t n, cap;
	} space[BUS_NSPACES];
	uint64_t unclaimed_reads;
	uint64_t unclaimed_writes;
};

/* A zeroed struct bus is ready; bus_destroy() frees what registering took. */
void bus_destroy(struct bus *bus);

/* 0, or -EINVAL (empty or wrapping range), -EEXIST (overlap), -ENOMEM. */
int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
    uint64_t len, bus_handler *fn, void *opaque);

/* 0 if a device took the access, -ENOENT if none, -EINVAL for SIZE not 1-8. */
int bus_dispatch(struct bus *bus, enum bus_space space, uint64_t addr,
    void *data, unsigned size, bool is_write);

/* A claimed sink: reads all ones, drops writes (port 0x80, POST codes). */
bus_handler bus_ignore;

static inline uint64_t
bus_get(const void *data, unsigned size)
{
	uint64_t val = 0;

	/* x86 hosts: little endian, like the guest. */
	memcpy(&val, data, size > 8 ? 8 : size);
	return val;
}

static inline void
bus_put(void *data, unsigned size, uint64_t val)
{
	memcpy(data, &val, size > 8 ? 8 : size);
}

/* Defines NAME, a bus handler over a device's TYPE *, READ and WRITE. */
#define BUS_HANDLER(name, type, read, write)                                 \
	void name(void *opaque, uint64_t offset, void *data, unsigned size,  \
	    bool is_write)                                                   \
	{                                                                    \
		type *dev_ = opaque;                                         \
                                                                             \
		if (is_write)                                                \
			write(dev_, offset, size, bus_get(data, size));      \
		else                                                         \
			bus_put(data, size, read(dev_, offset, size));       \
	}

#endif
