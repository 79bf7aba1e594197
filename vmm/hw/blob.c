/* Device state as bytes: see blob.h. */
#include "blob.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
hw_blob_writer(struct hw_blob *b)
{
	memset(b, 0, sizeof(*b));
}

void
hw_blob_free(struct hw_blob *b)
{
	if (b->cap > 0)
		free(b->buf);
	memset(b, 0, sizeof(*b));
}

void
hw_blob_reader(struct hw_blob *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buf = (uint8_t *)(uintptr_t)data;
	b->len = len;
}

void
hw_put_bytes(struct hw_blob *b, const void *p, size_t n)
{
	if (b->no_mem)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *buf;

		while (cap < b->len + n)
			cap *= 2;
		buf = realloc(b->buf, cap);
		if (buf == NULL) {
			b->no_mem = true;
			return;
		}
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* Little endian, byte by byte, whatever the host. */
static void
put_le(struct hw_blob *b, uint64_t v, unsigned n)
{
	uint8_t le[8];

	for (unsigned i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	hw_put_bytes(b, le, n);
}

void hw_put8(struct hw_blob *b, uint8_t v) { put_le(b, v, 1); }
void hw_put16(struct hw_blob *b, uint16_t v) { put_le(b, v, 2); }
void hw_put32(struct hw_blob *b, uint32_t v) { put_le(b, v, 4); }
void hw_put64(struct hw_blob *b, uint64_t v) { put_le(b, v, 8); }

void
hw_put_irq(struct hw_blob *b, const struct hw_irq *irq)
{
	hw_put8(b, (uint8_t)irq->level);
}

void
hw_blob_put_header(struct hw_blob *b, uint32_t tag, uint16_t version)
{
	hw_put32(b, tag);
	hw_put16(b, version);
}

int
hw_blob_saved(const struct hw_blob *b)
{
	return b->no_mem ? -ENOMEM : 0;
}

void
hw_get_bytes(struct hw_blob *b, void *p, size_t n)
{
	if (b->short_read || b->len - b->pos < n) {
		b->short_read = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->buf + b->pos, n);
	b->pos += n;
}

static uint64_t
get_le(struct hw_blob *b, unsigned n)
{
	uint8_t le[8];
	uint64_t v = 0;

	hw_get_bytes(b, le, n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)le[i] << (8 * i);
	return v;
}

uint8_t hw_get8(struct hw_blob *b) { return (uint8_t)get_le(b, 1); }
uint16_t hw_get16(struct hw_blob *b) { return (uint16_t)get_le(b, 2); }
uint32_t hw_get32(struct hw_blob *b) { return (uint32_t)get_le(b, 4); }
uint64_t hw_get64(struct hw_blob *b) { return get_le(b, 8); }

bool
hw_get_bool(struct hw_blob *b)
{
	return hw_get8(b) != 0;
}

void
hw_get_irq(struct hw_blob *b, struct hw_irq *irq)
{
	irq->level = hw_get_bool(b);
}

int
hw_blob_get_header(struct hw_blob *b, uint32_t tag, uint16_t version)
{
	uint32_t t = hw_get32(b);
	uint16_t v = hw_get16(b);

	if (b->short_read)
		return -EBADMSG;
	return t == tag && v == version ? 0 : -EINVAL;
}

int
hw_blob_done(const struct hw_blob *b, bool bad_value)
{
	if (b->short_read || b->pos != b->len)
		return -EBADMSG;
	return bad_value ? -EINVAL : 0;
}
