--[[
dispatch-reopen: takes failed recipients of one wave out of the ledger so they can be sent again (a resume sends
those that failed for a transient cause; the resend route every failed one). Their `failed` outcome is undone in the
counters, so the campaign is not done until they have a new outcome. Idempotent: a device that is not failed (any
more) is left alone and not returned.

The keys are one dispatch partition's (see dispatch-record-7.lua) and a device id is its bit offset in that partition.

KEYS[1]  settled bitmap ({campaign:<id>}:settled)
KEYS[2]  failed bitmap ({campaign:<id>}:failed)
KEYS[3]  transient bitmap ({campaign:<id>}:transient)
KEYS[4]  stats hash ({campaign:<id>}:stats)
ARGV[1]  wave number the devices belong to
ARGV[2]  scope: `transient` (only failures of a transient cause) or `failed` (every failure)
ARGV[3…] device ids of that wave

Counters: failed, w<wave>:failed, settled, w<wave>:settled decremented and `resent` incremented by the number reopened;
w<wave>:finished_at removed when any was reopened (the wave is sending again).
Returns the device ids reopened, in the order given.
]]
local settledKey, failedKey, transientKey, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local w = 'w' .. ARGV[1] .. ':'
local scopeKey = failedKey
if ARGV[2] == 'transient' then scopeKey = transientKey end
local out = {}
for n = 3, #ARGV do
  local id = tonumber(ARGV[n])
  if redis.call('GETBIT', scopeKey, id) == 1 and redis.call('GETBIT', failedKey, id) == 1 then
    redis.call('SETBIT', settledKey, id, 0)
    redis.call('SETBIT', failedKey, id, 0)
    redis.call('SETBIT', transientKey, id, 0)
    out[#out + 1] = ARGV[n]
  end
end
local k = #out
if k > 0 then
  redis.call('HINCRBY', stats, 'failed', -k)
  redis.call('HINCRBY', stats, w .. 'failed', -k)
  redis.call('HINCRBY', stats, 'settled', -k)
  redis.call('HINCRBY', stats, w .. 'settled', -k)
  redis.call('HINCRBY', stats, 'resent', k)
  redis.call('HDEL', stats, w .. 'finished_at')
end
return out
