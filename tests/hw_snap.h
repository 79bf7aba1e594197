/*
 * The device tests' snapshot round trip: T_SNAP(dev, SRC, DST) saves SRC
 * with dev_save and loads it into DST, a device fresh from its init, after
 * checking that every truncation of the record, a byte too many and
 * another device's tag are refused with DST left as it was.
 */
#ifndef TESTS_HW_SNAP_H
#define TESTS_HW_SNAP_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/blob.h"

#define T_SNAP(dev, src, dst)                                                 \
	do {                                                                  \
		struct hw_blob w_, r_;                                        \
		__typeof__(*(dst)) before_ = *(dst);                          \
		uint8_t *long_;                                               \
                                                                              \
		hw_blob_writer(&w_);                                          \
		T_EQ(dev##_save((src), &w_), 0);                              \
		for (size_t n_ = 0; n_ < w_.len; n_++) {                      \
			hw_blob_reader(&r_, w_.buf, n_);                      \
			T_EQ(dev##_load((dst), &r_), -EBADMSG);               \
		}                                                             \
		long_ = calloc(1, w_.len + 1);                                \
		T_ASSERT(long_ != NULL);                                      \
		memcpy(long_, w_.buf, w_.len);                                \
		hw_blob_reader(&r_, long_, w_.len + 1);                       \
		T_EQ(dev##_load((dst), &r_), -EBADMSG);                       \
		long_[0] ^= 0x20;	/* another tag */                     \
		hw_blob_reader(&r_, long_, w_.len);                           \
		T_EQ(dev##_load((dst), &r_), -EINVAL);                        \
		free(long_);                                                  \
		T_EQ(memcmp(&before_, (dst), sizeof(before_)), 0);            \
		hw_blob_reader(&r_, w_.buf, w_.len);                          \
		T_EQ(dev##_load((dst), &r_), 0);                              \
		hw_blob_free(&w_);                                            \
	} while (0)

/*
 * T_SNAP_BAD(dev, SRC, DST, OFFSET, VALUE): SRC's record with the byte at
 * OFFSET (after the 6-byte header) set to VALUE is refused with -EINVAL.
 */
#define T_SNAP_BAD(dev, src, dst, offset, value)                              \
	do {                                                                  \
		struct hw_blob w_, r_;                                        \
                                                                              \
		hw_blob_writer(&w_);                                          \
		T_EQ(dev##_save((src), &w_), 0);                              \
		T_ASSERT(6 + (offset) < w_.len);                              \
		w_.buf[6 + (offset)] = (value);                               \
		hw_blob_reader(&r_, w_.buf, w_.len);                          \
		T_EQ(dev##_load((dst), &r_), -EINVAL);                        \
		hw_blob_free(&w_);                                            \
	} while (0)

#endif
