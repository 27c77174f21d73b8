--[[
  The releaser's step for one room. Frees expired sessions, then hands free places out in order, to holders who are
  there: first to parked tickets whose holders came back (they were ahead of everyone still in line), then walking
  the line from `serving`. Walking the line, a ticket whose holder is
    - present (seen in the current or previous presence bucket) gets a reserved session;
    - away but within the grace (seen in the current or previous grace bucket, not present) is parked: passed over
      without taking a place, and first in line again if its holder checks in before its deadline (now + grace);
    - gone (left) or silent (not seen for a grace period) is skipped.
  So capacity is only ever reserved for someone who is there. Atomic, so any number of gateway instances may run it
  at the same time without admitting past capacity.

  While the room is `passthrough` the line drains: everyone present goes in, whatever the capacity and the rate.
  While it is suspended or queue_all is on, nobody is admitted.

  Input:
    KEYS[1]  config     KEYS[2]  tickets    KEYS[3]  serving    KEYS[4]  sessions
    KEYS[5]  rate       KEYS[6]  goneCount  KEYS[7]  gone       KEYS[8]  seen (current grace bucket)
    KEYS[9]  seen (previous grace bucket)   KEYS[10] admits     KEYS[11] clock
    KEYS[12] present (current presence bucket)   KEYS[13] present (previous presence bucket)
    KEYS[14] parked     tickets passed over while away (zset: member ticket, score deadline ms)
    KEYS[15] goneBlocks gone tickets per block (Fenwick tree, _gone-blocks.lua): deleted with the gone bitmap
    KEYS[16] line       the current line's start, epoch seconds (arrive-11+; missing: 0): reservations are named
                        ticket_session(line, ticket) (_room-common.lua), as status-11 claims them

    ARGV[1] how long a reservation waits for its holder to claim it, in ms
    ARGV[2] the most tickets to look at in one call (bounds the script's run time)
    ARGV[3] how long a parked ticket keeps its place, in ms (the grace period)

  Output:
    {admitted, skipped, serving, tickets, gone, active, admitsLastMinute, oldestTicketAgeMs, nowMs, flags, parked, away}
    flags: 0 normal, 1 queue_all, 2 suspended, 3 passthrough, -1 unknown room
    parked: tickets parked by this call; away: parked tickets keeping their place now
]]
--- @include "_room-common"

local cfg = room_config(KEYS[1])
if not cfg then return {0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0} end

local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[14], '-inf', now) -- kept places whose grace ran out
local tickets = tonumber(redis.call('GET', KEYS[2]) or '0')
local serving = tonumber(redis.call('GET', KEYS[3]) or '0')
local gone = tonumber(redis.call('GET', KEYS[6]) or '0')
local active = redis.call('ZCARD', KEYS[4])
local admitted, skipped, parked = 0, 0, 0
local flags = 0
if cfg.suspended then flags = 2 elseif cfg.method == 'passthrough' then flags = 3 elseif cfg.queue_all then flags = 1 end

local line = line_start(KEYS[16])
local claim_ms = tonumber(ARGV[1])
local scan = tonumber(ARGV[2])
local park_ms = tonumber(ARGV[3])
local away = redis.call('ZCARD', KEYS[14])

if (flags == 0 or flags == 3) and (serving < tickets or away > 0) then
  local draining = flags == 3
  local tokens = bucket_tokens(KEYS[5], cfg.rpm, now)
  local budget = scan
  if not draining then budget = math.min(cfg.total - active, math.floor(tokens)) end

  -- Parked tickets whose holders are back come first (in the order they were parked, which is ticket order).
  if budget > 0 and away > 0 then
    for _, p in ipairs(redis.call('ZRANGE', KEYS[14], 0, scan - 1)) do
      if admitted >= budget then break end
      if bit_in(KEYS[12], KEYS[13], tonumber(p)) then
        redis.call('ZADD', KEYS[4], now + claim_ms, ticket_session(line, p))
        redis.call('ZREM', KEYS[14], p)
        admitted = admitted + 1
        away = away - 1
      end
    end
  end

  local t = serving
  while t < tickets and admitted < budget and admitted + skipped + parked < scan do
    t = t + 1
    if redis.call('GETBIT', KEYS[7], t) == 1 then
      skipped = skipped + 1
      gone = gone - 1
    elseif bit_in(KEYS[12], KEYS[13], t) then
      redis.call('ZADD', KEYS[4], now + claim_ms, ticket_session(line, t))
      admitted = admitted + 1
    elseif bit_in(KEYS[8], KEYS[9], t) then
      redis.call('ZADD', KEYS[14], now + park_ms, t) -- away: keeps its place, holds no capacity
      parked = parked + 1
      away = away + 1
    else
      skipped = skipped + 1 -- went silent: its holder is not coming back for it
    end
  end
  -- Gone tickets right behind the last admission cost nothing to pass over now.
  while t < tickets and admitted + skipped + parked < scan and redis.call('GETBIT', KEYS[7], t + 1) == 1 do
    t = t + 1
    skipped = skipped + 1
    gone = gone - 1
  end
  if admitted > 0 then
    if not draining then bucket_take(KEYS[5], tokens, admitted, now) end
    count_admits(KEYS[10], admitted, now)
    active = active + admitted
  end
  serving = t
  redis.call('SET', KEYS[3], serving)
  if gone < 0 then gone = 0 end
  if serving >= tickets then
    -- The line is empty: the gone bitmap (and its per-block counts) describe nobody any more.
    redis.call('DEL', KEYS[7], KEYS[15])
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

return {admitted, skipped, serving, tickets, gone, active, admits_last_minute, oldest_age, now, flags, parked, away}
