/* Helpers shared by the device models. */
#include "hw.h"

#include <stddef.h>

void
hw_irq_init(struct hw_irq *irq, hw_irq_fn *fn, void *opaque, int line)
{
	*irq = (struct hw_irq){ .fn = fn, .opaque = opaque, .line = line };
}

void
hw_irq_set(struct hw_irq *irq, int level)
{
	level = !!level;
	if (level == irq->level)
		return;
	irq->level = level;
	if (irq->fn != NULL)
		irq->fn(irq->opaque, irq->line, level);
}

unsigned
hw_to_bcd(unsigned bin)
{
	unsigned bcd = 0;

	for (unsigned shift = 0; shift < 16; shift += 4, bin /= 10)
		bcd |= (bin % 10) << shift;
	return bcd;
}

unsigned
hw_from_bcd(unsigned bcd)
{
	unsigned bin = 0;

	for (unsigned mul = 1; mul <= 1000; mul *= 10, bcd >>= 4)
		bin += (bcd & 0xF) * mul;
	return bin;
}

uint32_t
hw_read_bytes(hw_read8_fn *rd, void *dev, unsigned offset, unsigned size,
    unsigned len)
{
	uint32_t val = 0;

	if (size > 4)
		size = 4;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = offset + i < len ? rd(dev, offset + i) : 0xFF;

		val |= (uint32_t)b << (8 * i);
	}
	return val;
}

void
hw_write_bytes(hw_write8_fn *wr, void *dev, unsigned offset, unsigned size,
    uint32_t val, unsigned len)
{
	if (size > 4)
		size = 4;
	for (unsigned i = 0; i < size && offset + i < len; i++)
		wr(dev, offset + i, val >> (8 * i));
}
