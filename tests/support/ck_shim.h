/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ck_shim.h: the few Check assertions stubhost.c uses, for building the
 * stub host into broadcast-plugin-check, an installed program that must not
 * need libcheck. A failed assertion there is a broken plugin or an out of
 * memory: it prints the message and aborts, as Check's would end the test.
 */
#ifndef BC_CK_SHIM_H
#define BC_CK_SHIM_H

#include <stdio.h>
#include <stdlib.h>

#define ck_abort_msg(...)                                                     \
	(fprintf(stderr, "broadcast-plugin-check: "), fprintf(stderr, __VA_ARGS__), \
	 fputc('\n', stderr), abort())
#define ck_assert_msg(cond, ...) ((cond) ? (void)0 : (void)ck_abort_msg(__VA_ARGS__))
#define ck_assert(cond) ck_assert_msg(cond, "assertion failed: %s (%s:%d)", #cond, __FILE__, \
                                      __LINE__)
#define ck_assert_ptr_nonnull(p) ck_assert_msg((p) != NULL, "%s is NULL (out of memory?)", #p)
#define ck_assert_uint_eq(a, b) ck_assert_msg((a) == (b), "%s != %s", #a, #b)
#define ck_assert_uint_le(a, b) ck_assert_msg((a) <= (b), "%s > %s", #a, #b)

#endif /* BC_CK_SHIM_H */
