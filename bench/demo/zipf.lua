-- SPDX-License-Identifier: GPL-2.0
-- wrk script: GET /item/<id> with Zipf-distributed popularity.
-- DEMO_RECORDS  catalogue size (required)
-- DEMO_ZIPF_S   Zipf exponent (default 1.0)
-- DEMO_SEED     seed (default 1; each wrk thread adds its number)
-- Same inverse CDF and rank -> id mapping as dataset.py (zipf_rank,
-- STRIDE), so hot records are spread over the whole heap.
local n = tonumber(os.getenv("DEMO_RECORDS") or error("DEMO_RECORDS unset"))
local s = tonumber(os.getenv("DEMO_ZIPF_S") or "1.0")
local seed = tonumber(os.getenv("DEMO_SEED") or "1")
local stride = 2654435761
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("id", threads)
end

function init(args)
   math.randomseed(seed * 1000 + (id or 0))
end

local function rank(u)
   local x
   if math.abs(s - 1.0) < 1e-9 then
      x = (n + 1) ^ u
   else
      x = (((n + 1) ^ (1 - s) - 1) * u + 1) ^ (1 / (1 - s))
   end
   return math.min(n - 1, math.floor(x) - 1)
end

request = function()
   -- rank * stride < 2^53 for n < 2^21: exact in a Lua double.
   local r = rank(math.random())
   return wrk.format("GET", "/item/" .. string.format("%d", (r * stride) % n))
end

-- One line the driver parses; wrk's own report goes before it.
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "DEMO-WRK {\"requests\": %d, \"duration_us\": %d, \"connect\": %d, " ..
      "\"read\": %d, \"write\": %d, \"status\": %d, \"timeout\": %d, " ..
      "\"latency_p50_us\": %d, \"latency_p99_us\": %d}\n",
      summary.requests, summary.duration, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
