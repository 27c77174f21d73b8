--[[
dispatch-penalty: a provider answered 429 (Too Many Requests). Blocks its bucket until the Retry-After has passed
and halves its rate factor (not below `min_factor`), so the limiter sends slower from then on and recovers gradually.

KEYS[1]  the provider's bucket hash ({limits}:provider:<p>)
ARGV[1]  now (ms since the epoch)
ARGV[2]  how long to block, ms (the provider's Retry-After, or our backoff)
ARGV[3]  min_factor (e.g. 0.05)

Returns the factor now in force, as a string.
]]
local now = tonumber(ARGV[1])
local untilMs = now + tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'blocked_until', 'factor')
local blocked = tonumber(state[1] or '0')
local factor = math.max(tonumber(ARGV[3]), tonumber(state[2] or '1') / 2)
redis.call('HSET', KEYS[1], 'blocked_until', tostring(math.max(blocked, untilMs)), 'factor', tostring(factor))
redis.call('PEXPIRE', KEYS[1], math.max(blocked, untilMs) - now + 3600000)
return tostring(factor)
