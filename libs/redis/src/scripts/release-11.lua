--[[
  The releaser's step for one room: frees expired sessions, then walks the line from `serving`, reserving a session
  for each live ticket while there is capacity and the admission rate allows, and skipping tickets whose holders
  left or went silent (not seen in the current or previous time bucket). Atomic, so any number of gateway
  instances may run it at the same time without admitting past capacity.

  Input:
    KEYS[1]  config     KEYS[2]  tickets    KEYS[3]  serving    KEYS[4]  sessions
    KEYS[5]  rate       KEYS[6]  goneCount  KEYS[7]  gone       KEYS[8]  seen (current bucket)
    KEYS[9]  seen (previous bucket)          KEYS[10] admits     KEYS[11] clock

    ARGV[1] how long a reservation waits for its holder to claim it, in ms
    ARGV[2] the most tickets to look at in one call (bounds the script's run time)

  Output:
    {admitted, skipped, serving, tickets, gone, active, admitsLastMinute, oldestTicketAgeMs, nowMs, flags}
    flags: 0 normal, 1 queue_all, 2 suspended, 3 passthrough, -1 unknown room
]]
--- @include "_room-common"

local cfg = room_config(KEYS[1])
if not cfg then return {0, 0, 0, 0, 0, 0, 0, 0, 0, -1} end

local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local tickets = tonumber(redis.call('GET', KEYS[2]) or '0')
local serving = tonumber(redis.call('GET', KEYS[3]) or '0')
local gone = tonumber(redis.call('GET', KEYS[6]) or '0')
local active = redis.call('ZCARD', KEYS[4])
local admitted, skipped = 0, 0
local flags = 0
if cfg.suspended then flags = 2 elseif cfg.method == 'passthrough' then flags = 3 elseif cfg.queue_all then flags = 1 end

if flags == 0 and serving < tickets then
  local free = cfg.total - active
  local tokens = bucket_tokens(KEYS[5], cfg.rpm, now)
  local budget = math.min(free, math.floor(tokens))
  local scan = tonumber(ARGV[2])
  local t = serving
  while t < tickets and admitted < budget and admitted + skipped < scan do
    t = t + 1
    if redis.call('GETBIT', KEYS[7], t) == 1 then
      skipped = skipped + 1
      gone = gone - 1
    elseif redis.call('GETBIT', KEYS[8], t) == 1 or redis.call('GETBIT', KEYS[9], t) == 1 then
      redis.call('ZADD', KEYS[4], now + tonumber(ARGV[1]), 't' .. t)
      admitted = admitted + 1
    else
      skipped = skipped + 1 -- went silent: its holder is not coming back for it
    end
  end
  -- Gone tickets right behind the last admission cost nothing to pass over now.
  while t < tickets and admitted + skipped < scan and redis.call('GETBIT', KEYS[7], t + 1) == 1 do
    t = t + 1
    skipped = skipped + 1
    gone = gone - 1
  end
  if admitted > 0 then
    bucket_take(KEYS[5], tokens, admitted, now)
    count_admits(KEYS[10], admitted, now)
    active = active + admitted
  end
  serving = t
  redis.call('SET', KEYS[3], serving)
  if gone < 0 then gone = 0 end
  if serving >= tickets then
    -- The line is empty: the gone bitmap describes nobody any more.
    redis.call('DEL', KEYS[7])
    gone = 0
  end
  redis.call('SET', KEYS[6], gone)
end

-- Admissions in the last minute, from the per-second counters (and drop older ones).
local admits_last_minute = 0
local counts = redis.call('HGETALL', KEYS[10])
local this_second = math.floor(now / 1000)
for i = 1, #counts, 2 do
  local second = tonumber(counts[i])
  if this_second - second < 60 then
    admits_last_minute = admits_last_minute + tonumber(counts[i + 1])
  else
    redis.call('HDEL', KEYS[10], counts[i])
  end
end

-- Age of the oldest waiting ticket: the newest clock sample at or before serving + 1.
local oldest_age = 0
if serving < tickets then
  local sample = redis.call('ZREVRANGEBYSCORE', KEYS[11], serving + 1, '-inf', 'LIMIT', 0, 1)[1]
  if sample then
    oldest_age = now - tonumber(string.match(sample, ':(%d+)$'))
    redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', '(' .. string.match(sample, '^(%d+):'))
  else
    local first = redis.call('ZRANGE', KEYS[11], 0, 0)[1]
    if first then oldest_age = now - tonumber(string.match(first, ':(%d+)$')) end
  end
else
  redis.call('DEL', KEYS[11])
end

return {admitted, skipped, serving, tickets, gone, active, admits_last_minute, oldest_age, now, flags}
