-- SPDX-License-Identifier: Apache-2.0
-- start_stop.lua: wrk script for the "start+stop" scenario. Each wrk thread
-- keeps a queue of stream ids parsed from its start responses; a connection
-- that is free sends a stop for the oldest queued id, or a start when the
-- queue is empty, so half the requests are starts and half stops and every
-- started stream is stopped. A pair is two requests: bench/run reports
-- pairs/s = req/s / 2. A failed start or stop shows in wrk's "Non-2xx or
-- 3xx responses" line, which bench/run turns into an error count, so a
-- broken path cannot pass as fast.
local ids = {}
local head, tail = 1, 0
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}

function request()
   if head <= tail then
      local id = ids[head]
      ids[head] = nil
      head = head + 1
      return wrk.format("POST", "/stream/stop/?id=" .. id, form)
   end
   return wrk.format("POST", "/stream/start/?type=hls&name=bench", form)
end

function response(status, headers, body)
   -- Only a start response carries "endpoint"; queue its stream id.
   if status == 200 and string.find(body, '"endpoint"', 1, true) then
      local id = string.match(body, '"id"%s*:%s*"([^"]+)"')
      if id ~= nil then
         tail = tail + 1
         ids[tail] = id
      end
   end
end
