-- SPDX-License-Identifier: Apache-2.0
-- test_load_wrk.lua: the wrk script of test_load_wrk.py. The request
-- pattern is bench/lua/start_stop.lua's (each wrk thread queues the stream
-- ids of its start responses; a free connection stops the oldest queued id,
-- or starts a stream when the queue is empty), plus bookkeeping the test
-- asserts on: every response is classified per thread, and done() prints
-- the sums and wrk's own error counters as "LOAD key=value" lines, and the
-- ids still queued (started, stop never sent) as "LOAD_QUEUED id" lines.
-- A copy rather than the bench script itself, so the benchmark can change
-- its pattern without silently changing what this test checks.
--
-- Per-thread state is global (not local) so done(), which runs in wrk's
-- main Lua state, can read it through thread:get().
ids = {}
head, tail = 1, 0
starts = 0     -- 2xx answers to a start (they carry "endpoint")
stops = 0      -- 2xx answers to a stop (they carry a stop_date)
other = 0      -- 2xx answers that are neither: the test fails on them
bad = 0        -- answers outside 200-299
bad_sample = ""

local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function request()
   if head <= tail then
      local id = ids[head]
      ids[head] = nil
      head = head + 1
      return wrk.format("POST", "/stream/stop/?id=" .. id, form)
   end
   return wrk.format("POST", "/stream/start/?type=hls&name=load", form)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      bad = bad + 1
      if bad_sample == "" then
         bad_sample = status .. " " .. string.sub(body, 1, 300)
      end
      return
   end
   if string.find(body, '"endpoint"', 1, true) then
      local id = string.match(body, '"id"%s*:%s*"([^"]+)"')
      if id == nil then
         other = other + 1
         return
      end
      starts = starts + 1
      tail = tail + 1
      ids[tail] = id
   elseif string.find(body, '"stop_date"%s*:%s*"') then
      stops = stops + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local sum = {starts = 0, stops = 0, other = 0, bad = 0}
   local sample = ""
   for _, t in ipairs(threads) do
      for k in pairs(sum) do
         sum[k] = sum[k] + t:get(k)
      end
      if sample == "" then
         sample = t:get("bad_sample")
      end
   end
   io.write(string.format("LOAD requests=%d duration_us=%d connect=%d read=%d write=%d " ..
                          "timeout=%d status=%d\n", summary.requests, summary.duration,
                          e.connect, e.read, e.write, e.timeout, e.status))
   io.write(string.format("LOAD starts=%d stops=%d other=%d non2xx=%d\n",
                          sum.starts, sum.stops, sum.other, sum.bad))
   io.write(string.format("LOAD latency_p50_us=%d latency_p99_us=%d latency_max_us=%d\n",
                          latency:percentile(50), latency:percentile(99), latency.max))
   if sample ~= "" then
      io.write("LOAD_BAD_SAMPLE " .. string.gsub(sample, "\n", " ") .. "\n")
   end
   for _, t in ipairs(threads) do
      local q, h, n = t:get("ids"), t:get("head"), t:get("tail")
      for i = h, n do
         io.write("LOAD_QUEUED " .. q[i] .. "\n")
      end
   end
end
