/*
 * A small test harness. Each test runs in its own child process with a
 * time limit, so a crash or a hang fails that test alone. A program prints
 * one line per test and ends with "N passed, N failed, N skipped".
 *
 *	TEST(name) { T_EQ(x, 3); ... }
 */
#ifndef T_H
#define T_H

#include <stdint.h>
#include <stdio.h>

typedef void (*t_fn)(void);

void t_register(const char *name, t_fn fn, unsigned timeout);
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void t_require_kvm(void);

#define TEST_TIMEOUT(name, secs)                                              \
	static void name(void);                                               \
	__attribute__((constructor)) static void t_reg_##name(void)          \
	{                                                                     \
		t_register(#name, name, secs);                                \
	}                                                                     \
	static void name(void)

#define TEST(name) TEST_TIMEOUT(name, 20)

#define T_ASSERT(c)                                                           \
	do {                                                                  \
		if (!(c))                                                     \
			t_fail(__FILE__, __LINE__, "%s", #c);                 \
	} while (0)

/* Compare as unsigned 64-bit values and print both in hex on a mismatch. */
#define T_EQ(a, b)                                                            \
	do {                                                                  \
		uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);          \
		if (t_a_ != t_b_)                                             \
			t_fail(__FILE__, __LINE__,                            \
			    "%s == %s: 0x%llx != 0x%llx", #a, #b,             \
			    (unsigned long long)t_a_,                         \
			    (unsigned long long)t_b_);                        \
	} while (0)

/* A call that must return 0; on -1 print errno. */
#define T_OK(call)                                                            \
	do {                                                                  \
		if ((call) != 0)                                              \
			t_fail(__FILE__, __LINE__, "%s: %m", #call);          \
	} while (0)

/* A call that must return -1 with errno e. */
#define T_ERR(call, e)                                                        \
	do {                                                                  \
		errno = 0;                                                    \
		int t_r_ = (call);                                            \
		if (t_r_ != -1 || errno != (e))                               \
			t_fail(__FILE__, __LINE__,                            \
			    "%s: want -1/%s, got %d/%s", #call, #e, t_r_,     \
			    strerrorname_np(errno));                          \
	} while (0)

#endif
