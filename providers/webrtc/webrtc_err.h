/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_err.h: a failure the webrtc provider can report two ways. The
 * provider ops (start, stop) describe failures to the host through a
 * struct bc_error, which is opaque; the WHIP listener answers clients
 * itself and needs the status, the dotted code and the message back. So the
 * plugin's internal functions fail through struct webrtc_err, which keeps
 * all three and forwards them to the host's bc_error when there is one.
 */
#ifndef WEBRTC_ERR_H
#define WEBRTC_ERR_H

#include <stdarg.h>
#include <stdio.h>

#include <broadcast/host.h>

struct webrtc_err {
	struct bc_error *err;   /* the host's, or NULL (the listener) */
	enum bc_status status;  /* BC_OK until a failure */
	const char *code;       /* a static dotted code, or NULL */
	char message[256];
};

/* Record a failure (a second replaces the first) and return `status`.
 * e may be NULL: nothing is kept. */
static inline enum bc_status wj_err(const struct bc_host_api *api, struct webrtc_err *e,
                                    enum bc_status status, const char *code,
                                    const char *fmt, ...) BC_PRINTF(5, 6);
static inline enum bc_status wj_err(const struct bc_host_api *api, struct webrtc_err *e,
                                    enum bc_status status, const char *code,
                                    const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return status;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->status = status;
	e->code = code;
	if (e->err != NULL)
		api->fail(e->err, status, code, "%s", e->message);
	return status;
}

#endif /* WEBRTC_ERR_H */
