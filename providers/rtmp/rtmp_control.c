/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_control.c: nginx-rtmp's control module over libcurl (see
 * rtmp_control.h). nginx-rtmp answers a drop with 200 and the number of
 * sessions it dropped as the body; one that finds nobody may also be
 * answered with a 4xx. Either way nothing is left to cut, so only a
 * transport failure or a 5xx counts as a failure.
 * The URL carries the stream id, never the key, so it may be logged.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "rtmp_control.h"

#define RTMP_CONTROL_URL_MAX 2048
#define RTMP_CONTROL_BODY_MAX 64

struct rtmp_body {
	char text[RTMP_CONTROL_BODY_MAX];
	size_t len;
};

static size_t rtmp_control_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct rtmp_body *b = user;
	size_t n = size * nmemb, room = sizeof(b->text) - 1 - b->len;

	memcpy(b->text + b->len, data, n < room ? n : room);
	b->len += n < room ? n : room;
	b->text[b->len] = '\0';
	return n; /* the rest is not needed: a count is a few digits */
}

enum bc_status rtmp_control_global_init(const struct bc_host_api *api, struct bc_error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return api->fail(err, BC_E_INTERNAL, "rtmp.curl", "curl_global_init failed");
	return BC_OK;
}

void rtmp_control_global_cleanup(void)
{
	curl_global_cleanup();
}

int rtmp_control_drop(const struct bc_host_api *api, struct bc_host *host,
                      const char *control_url, const char *app, const char *name,
                      int64_t timeout_ms)
{
	char url[RTMP_CONTROL_URL_MAX];
	struct rtmp_body body;
	CURL *h = NULL;
	CURLcode rc;
	long status = 0;
	size_t len = strlen(control_url);
	int n, dropped = -1;

	while (len > 0 && control_url[len - 1] == '/')
		len--;
	n = snprintf(url, sizeof(url), "%.*s/drop/publisher?app=%s&name=%s", (int)len,
	             control_url, app, name);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		api->log(host, BC_LOG_WARN, "control_url is too long to drop publishers");
		return -1;
	}
	memset(&body, 0, sizeof(body));
	h = curl_easy_init();
	if (h == NULL) {
		api->log(host, BC_LOG_WARN, "cannot drop the publisher of %s: curl_easy_init failed",
		         name);
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rtmp_control_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		api->log(host, BC_LOG_WARN,
		         "cannot drop the publisher of %s at %s: %s; it stays until nginx-rtmp's "
		         "next on_update, which is refused", name, url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 500 || status < 200) {
		api->log(host, BC_LOG_WARN,
		         "cannot drop the publisher of %s: %s answered HTTP %ld; it stays until "
		         "nginx-rtmp's next on_update, which is refused", name, url, status);
		goto out;
	}
	dropped = status < 300 ? atoi(body.text) : 0;
	api->log(host, BC_LOG_DEBUG, "drop %s: HTTP %ld, %d publisher(s) dropped", url, status,
	         dropped);
out:
	curl_easy_cleanup(h);
	return dropped;
}
