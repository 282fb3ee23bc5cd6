/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_routes.c: which API operation a URL path names.
 *
 * The seed's two routes (django-broadcast's `stream/start/` and
 * `stream/stop/`) plus the read-only additions of DESIGN.md §2, each with and
 * without the trailing slash:
 *
 *     /stream/start[/]   start       /streams[/]        list
 *     /stream/stop[/]    stop        /streams/{id}[/]   get, params {id}
 *     /healthz[/]        health      /metrics[/]        metrics
 *     /events[/]         events (ABI 1.1, docs/events.md)
 *
 * The table maps paths only. Methods, parameters from the query and body,
 * and every error are the dispatcher's (STYLE rule 12); a path matching
 * nothing yields op NULL, which the dispatcher answers with 404.
 */
#include "config.h"

#include <string.h>

#include "http_routes.h"

/* Fixed paths, written without the trailing slash. */
static const struct {
	const char *path;
	const char *op;
} http_fixed_routes[] = {
	{ "/stream/start", "start" },
	{ "/stream/stop", "stop" },
	{ "/streams", "list" },
	{ "/healthz", "health" },
	{ "/metrics", "metrics" },
	{ "/events", "events" },
};

/* `path` equals `want`, or `want` followed by exactly one '/'. */
static int http_route_is(const char *path, size_t len, const char *want)
{
	size_t n = strlen(want);
	if (len == n + 1 && path[n] == '/')
		len = n;
	return len == n && memcmp(path, want, n) == 0;
}

const char *http_route_match(const char *path, struct http_route *route)
{
	static const char prefix[] = "/streams/";
	size_t len, seg_len;
	const char *seg;

	memset(route, 0, sizeof *route);
	if (path == NULL)
		return NULL;
	len = strlen(path);
	for (size_t i = 0; i < sizeof http_fixed_routes / sizeof http_fixed_routes[0]; i++)
		if (http_route_is(path, len, http_fixed_routes[i].path)) {
			route->op = http_fixed_routes[i].op;
			return route->op;
		}

	/* /streams/{id} and /streams/{id}/: one non-empty segment. CivetWeb
	 * has already percent-decoded the path, so an id given as %XX escapes
	 * arrives here as its bytes; an encoded '/' (%2F) cannot be told from
	 * a real one and so makes a path of two segments, which has no route. */
	if (len <= sizeof prefix - 1 || memcmp(path, prefix, sizeof prefix - 1) != 0)
		return NULL;
	seg = path + sizeof prefix - 1;
	seg_len = len - (sizeof prefix - 1);
	if (seg[seg_len - 1] == '/')
		seg_len--;
	if (seg_len == 0 || memchr(seg, '/', seg_len) != NULL)
		return NULL;
	if (seg_len > HTTP_ROUTE_SEGMENT_MAX)
		seg_len = HTTP_ROUTE_SEGMENT_MAX;
	memcpy(route->segment, seg, seg_len);
	route->segment[seg_len] = '\0';
	route->params[0] = "id";
	route->params[1] = route->segment;
	route->params[2] = NULL;
	route->op = "get";
	return route->op;
}
