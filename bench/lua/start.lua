-- SPDX-License-Identifier: Apache-2.0
-- start.lua: wrk script for the "start" scenario. Every request is
-- POST /stream/start/?type=hls&name=bench on a keep-alive connection; the
-- response is not parsed (wrk counts non-2xx answers itself), so the client
-- costs the same against every server.
wrk.method = "POST"
wrk.path = "/stream/start/?type=hls&name=bench"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
