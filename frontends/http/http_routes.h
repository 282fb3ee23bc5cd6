/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_routes.h: the URL table of the HTTP frontend, shared by http.c (which
 * serves requests) and http_routes.c (which maps a path to an operation).
 * Internal to frontend_http.so; nothing here crosses the plugin ABI.
 */
#ifndef BC_HTTP_ROUTES_H
#define BC_HTTP_ROUTES_H

#include <stddef.h>

/* Longest path segment kept as a parameter (a stream id is 36 bytes); a
 * longer one is passed cut, and the dispatcher rejects it as a bad id. */
#define HTTP_ROUTE_SEGMENT_MAX 256

/* What one request path means. `params` points into the struct itself, so
 * it lives as long as the struct does (one request, on the stack). */
struct http_route {
	const char *op;             /* dispatcher operation, or NULL: no route (404) */
	const char *params[3];      /* NULL-terminated key/value list, or all NULL */
	char segment[HTTP_ROUTE_SEGMENT_MAX + 1]; /* storage for a path parameter */
};

/* Map `path` (the URL path without the query, already percent-decoded by
 * CivetWeb) to an operation. Only exact paths match, with or without one
 * trailing slash: no dot-segment cleaning, no prefix matching, so a proxy in
 * front and this server can never read different routes out of one path.
 * The method is not looked at: the dispatcher answers 405 itself. Returns
 * route->op (NULL when nothing matched); never fails. */
const char *http_route_match(const char *path, struct http_route *route);

#endif /* BC_HTTP_ROUTES_H */
