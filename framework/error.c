/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.c: struct bc_error, and the one table that maps a bc_status to an
 * HTTP status (bc_status_http), refined for the few dotted codes whose status
 * differs from their bc_status's (bc_http_status). Frontends never map
 * statuses themselves: the dispatcher puts the number into every response.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bc_internal.h"

enum bc_status bc_vfail(struct bc_error *err, enum bc_status status, const char *code,
                        const char *fmt, va_list ap)
{
	if (err == NULL)
		return status;
	err->status = status;
	snprintf(err->code, sizeof err->code, "%s", code != NULL ? code : "internal.error");
	if (fmt != NULL)
		vsnprintf(err->message, sizeof err->message, fmt, ap);
	else
		err->message[0] = '\0';
	return status;
}

enum bc_status bc_fail(struct bc_error *err, enum bc_status status, const char *code,
                       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bc_vfail(err, status, code, fmt, ap);
	va_end(ap);
	return status;
}

void bc_error_clear(struct bc_error *err)
{
	if (err == NULL)
		return;
	err->status = BC_OK;
	err->code[0] = '\0';
	err->message[0] = '\0';
}

int bc_status_http(enum bc_status status)
{
	switch (status) {
	case BC_OK: return 200;
	case BC_E_INVALID: return 400;
	case BC_E_UNAUTHENTICATED: return 401;
	case BC_E_FORBIDDEN: return 403;
	case BC_E_NOT_FOUND: return 404;
	case BC_E_CONFLICT: return 409;
	case BC_E_TOO_LARGE: return 413;
	case BC_E_RATE_LIMITED: return 429;
	case BC_E_UNAVAILABLE: return 503;
	case BC_E_TIMEOUT: return 504;
	case BC_E_UPSTREAM: return 502;
	case BC_E_UNSUPPORTED: return 405;
	case BC_E_NOMEM:
	case BC_E_INTERNAL: return 500;
	}
	return 500;
}

/* The dotted codes whose HTTP status is not their bc_status's. Keep it
 * short: a new HTTP status is a new bc_status unless it only narrows one
 * (415 is a 400 the client fixes by changing Content-Type). docs/api.md's
 * error table lists the same. */
static const struct {
	const char *code;
	enum bc_status status; /* the bc_status the code comes with */
	int http;
} http_overrides[] = {
	{ "request.unsupported_media_type", BC_E_INVALID, 415 },
};

int bc_http_status(enum bc_status status, const char *code)
{
	if (code != NULL)
		for (size_t i = 0; i < sizeof http_overrides / sizeof http_overrides[0]; i++)
			if (http_overrides[i].status == status &&
			    strcmp(http_overrides[i].code, code) == 0)
				return http_overrides[i].http;
	return bc_status_http(status);
}

const char *bc_status_name(enum bc_status status)
{
	static const char *const names[] = {
		"BC_OK", "BC_E_INVALID", "BC_E_UNAUTHENTICATED", "BC_E_FORBIDDEN",
		"BC_E_NOT_FOUND", "BC_E_CONFLICT", "BC_E_TOO_LARGE", "BC_E_RATE_LIMITED",
		"BC_E_UNAVAILABLE", "BC_E_TIMEOUT", "BC_E_UPSTREAM", "BC_E_UNSUPPORTED",
		"BC_E_NOMEM", "BC_E_INTERNAL",
	};
	if ((unsigned)status < sizeof names / sizeof names[0])
		return names[status];
	return "BC_E_UNKNOWN";
}
