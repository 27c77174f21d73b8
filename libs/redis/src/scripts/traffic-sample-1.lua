--[[
  Counts a room's traffic for its hour of the week, in Redis until a gateway flushes it to PostgreSQL
  (traffic-drain-1). Arrivals are added as given; active sessions are sampled at most once per epoch second for the
  whole room, whichever gateway comes first (so several gateways do not count the same second twice).

  Input:
    KEYS[1]  traffic    hash: "<hour>:a" arrivals, "<hour>:s" sum of sampled active, "<hour>:n" samples, last_sample

    ARGV[1]  hour of the week (0 = Monday 00:00 UTC … 167)
    ARGV[2]  arrivals to add (may be 0)
    ARGV[3]  epoch second of this sample of active sessions
    ARGV[4]  active sessions now (or -1: no sample, arrivals only)

  Output:
    1 if the active sample was counted, 0 if this second was sampled already (or none was given)
]]
local hour = ARGV[1]
local arrivals = tonumber(ARGV[2])
if arrivals > 0 then redis.call('HINCRBY', KEYS[1], hour .. ':a', arrivals) end
local active = tonumber(ARGV[4])
if active < 0 then return 0 end
local second = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'last_sample') or '0')
if second <= last then return 0 end
redis.call('HSET', KEYS[1], 'last_sample', second)
redis.call('HINCRBY', KEYS[1], hour .. ':s', active)
redis.call('HINCRBY', KEYS[1], hour .. ':n', 1)
return 1
