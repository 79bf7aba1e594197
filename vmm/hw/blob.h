/*
 * Device state as bytes, for nvmm-run's snapshots: each device model saves
 * its registers into a struct hw_blob and loads them back from one.
 *
 * Values are little endian and fixed width. A device's record starts with
 * a tag and a version of its own (hw_blob_put_header), so a record given
 * to the wrong device, or from another layout, is refused. Reads past the
 * end return zeros and mark the blob short; hw_blob_done() then refuses
 * it, as it refuses bytes left over.
 *
 * Every device has DEV_save(const dev *, struct hw_blob *), 0 or -ENOMEM,
 * and DEV_load(dev *, struct hw_blob *) into a device its DEV_init() set
 * up (callbacks and clock stay): 0, -EBADMSG (a short or overlong record)
 * or -EINVAL (another device's record, or a value the device can't hold),
 * and then the device is untouched. Times stay on the device's clock.
 */
#ifndef HW_BLOB_H
#define HW_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw.h"

#define HW_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
	    (uint32_t)(d) << 24)

struct hw_blob {
	uint8_t *buf;
	size_t len;	/* bytes written, or bytes there are to read */
	size_t cap;	/* 0 for a reader */
	size_t pos;	/* the next byte to read */
	bool short_read, no_mem;
};

/* An empty blob to save into; hw_blob_free() releases what it grew to. */
void hw_blob_writer(struct hw_blob *b);
void hw_blob_free(struct hw_blob *b);
/* A blob over LEN bytes at DATA (not copied), to load from. */
void hw_blob_reader(struct hw_blob *b, const void *data, size_t len);

void hw_put8(struct hw_blob *b, uint8_t v);
void hw_put16(struct hw_blob *b, uint16_t v);
void hw_put32(struct hw_blob *b, uint32_t v);
void hw_put64(struct hw_blob *b, uint64_t v);
void hw_put_bytes(struct hw_blob *b, const void *p, size_t n);
void hw_put_irq(struct hw_blob *b, const struct hw_irq *irq);
void hw_blob_put_header(struct hw_blob *b, uint32_t tag, uint16_t version);
/* After the puts: 0, or -ENOMEM. */
int hw_blob_saved(const struct hw_blob *b);

uint8_t hw_get8(struct hw_blob *b);
uint16_t hw_get16(struct hw_blob *b);
uint32_t hw_get32(struct hw_blob *b);
uint64_t hw_get64(struct hw_blob *b);
bool hw_get_bool(struct hw_blob *b);
void hw_get_bytes(struct hw_blob *b, void *p, size_t n);
/*
 * The line's level as saved, without calling its function: the device at
 * the other end is loaded with the level it had seen.
 */
void hw_get_irq(struct hw_blob *b, struct hw_irq *irq);
/* 0, or -EINVAL when the record is not TAG's at VERSION. */
int hw_blob_get_header(struct hw_blob *b, uint32_t tag, uint16_t version);
/*
 * After the gets: 0 when every byte was read and no more; -EBADMSG for a
 * short or overlong record, else -EINVAL when BAD_VALUE.
 */
int hw_blob_done(const struct hw_blob *b, bool bad_value);

#endif
