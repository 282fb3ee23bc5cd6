/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_form.h: reading the application/x-www-form-urlencoded bodies of
 * nginx-rtmp's `notify_method post` callbacks (name=KEY&addr=...&app=...).
 * Pure functions on a buffer, no allocation: the callback listener reads
 * the few parameters it needs with rtmp_form_get().
 */
#ifndef BC_RTMP_FORM_H
#define BC_RTMP_FORM_H

#include <stddef.h>

enum rtmp_form_result {
	RTMP_FORM_OK = 0, /* found once, decoded into out */
	RTMP_FORM_ABSENT, /* not in the body */
	RTMP_FORM_BAD     /* given twice, a bad %-escape, a decoded control
	                     character or byte over 0x7e, or too long for out */
};

/* Find parameter `key` (matched as sent, undecoded) in the form `body` of
 * `len` bytes (not NUL-terminated) and write its decoded value ('+' is a
 * space, %XX a byte) to `out` of `size` bytes, NUL-terminated. Every
 * occurrence is looked at, so a parameter given twice is RTMP_FORM_BAD
 * rather than one of its values. Printable ASCII only: nothing nginx-rtmp
 * sends in the parameters we read (keys, addresses, app names, numbers)
 * is anything else, and it keeps invalid UTF-8 and control bytes out of
 * logs and events. */
enum rtmp_form_result rtmp_form_get(const char *body, size_t len, const char *key, char *out,
                                    size_t size);

#endif /* BC_RTMP_FORM_H */
