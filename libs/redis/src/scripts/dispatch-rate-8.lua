--[[
dispatch-rate: takes messages from up to eight rate limits at once, or from none of them: the system's global
limit and its quota per provider (buckets every campaign shares), the campaign's own limit and its own per-provider
limits. Each limit is a GCRA bucket: `tat` is the theoretical arrival time of the next message; a request
fits when every bucket's tat is at most `burst_ms` ahead of now. A provider bucket may also be blocked until a time
(its Retry-After) and slowed by a factor (halved on each 429, recovering 5 % per accepted request once unblocked).

KEYS[1…8]  bucket hashes ({limits}:global, {limits}:provider:<p>, {limits}:campaign:<id>, …:<p>), all in one slot
ARGV[1]    now (ms since the epoch)
ARGV[2]    burst_ms: how far ahead of now a bucket may be booked
ARGV[3…]   per key, two values: count (messages this request takes from it), rate (messages per minute; 0: no limit)

Each bucket remembers the rate it was booked at: when the rate given differs (an SRE changed it), the time booked
ahead is re-timed at the new rate, so a raised limit applies at once instead of after the old booking runs out.

Returns 0 when taken (every bucket with a rate advanced by count × 60000 / (rate × factor)), else the milliseconds
to wait before asking again (nothing taken).
]]
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wait = 0
local plan = {}
local recover = {}
for k = 1, #KEYS do
  local count = tonumber(ARGV[1 + 2 * k])
  local rate = tonumber(ARGV[2 + 2 * k])
  if count > 0 then
    local state = redis.call('HMGET', KEYS[k], 'tat', 'blocked_until', 'factor', 'rate')
    local blocked = tonumber(state[2] or '0')
    local factor = tonumber(state[3] or '1')
    if blocked > now then
      wait = math.max(wait, blocked - now)
    elseif factor < 1 then
      -- Recovers only if this request is taken (applied below, with the bookings).
      factor = math.min(1, factor * 1.05)
      recover[#recover + 1] = { KEYS[k], factor }
    end
    if rate > 0 then
      local tat = math.max(tonumber(state[1] or '0'), now)
      -- The rate changed (an SRE's PATCH): what is booked ahead is re-timed at the new rate.
      local booked = tonumber(state[4] or '0')
      if booked > 0 and booked ~= rate and tat > now then tat = now + (tat - now) * booked / rate end
      if tat - now > burst then wait = math.max(wait, tat - now - burst) end
      plan[#plan + 1] = { KEYS[k], tat + count * 60000 / (rate * factor), rate, blocked }
    end
  end
end
if wait > 0 then return math.ceil(wait) end
for _, r in ipairs(recover) do redis.call('HSET', r[1], 'factor', tostring(r[2])) end
for _, p in ipairs(plan) do
  redis.call('HSET', p[1], 'tat', tostring(p[2]), 'rate', p[3])
  -- Kept an hour past both its booking and its block (a 429's Retry-After must outlive the booking).
  redis.call('PEXPIRE', p[1], math.ceil(math.max(p[2], p[4]) - now) + 3600000)
end
return 0
