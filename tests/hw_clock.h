/* The device tests' clock: time is what the test sets in now_ns. */
#ifndef TESTS_HW_CLOCK_H
#define TESTS_HW_CLOCK_H

#include "hw/hw.h"

static uint64_t now_ns;

static uint64_t
fake_now(void *opaque)
{
	(void)opaque;
	return now_ns;
}

static const struct hw_clock fake_clock = { fake_now, NULL };

#endif
