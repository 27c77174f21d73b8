--[[
dispatch-record: records the outcome of sends for one wave of a campaign, each device counted once however often a
retry or a restarted worker records it again. The settled bitmap is the ledger the sender checks before sending.

Partitions (libs/redis/src/dispatch-partitions.ts): the keys are one dispatch partition's ({dp<p>.<k>}:campaign:<id>:…,
or the campaign's own {campaign:<id>}:… when it has one partition), and a device "id" below is its bit offset in that
partition (floor(device id / partitions)). With more than one partition the stats hash holds no w<wave>:targeted, so
finished_at is left to the caller, which merges the partitions.

KEYS[1]  settled bitmap ({campaign:<id>}:settled): a final outcome was recorded for the device
KEYS[2]  sent ledger bitmap ({campaign:<id>}:sent): the provider accepted the device's message
KEYS[3]  held bitmap ({campaign:<id>}:held): the device was held for its quiet hours at least once
KEYS[4]  stats hash ({campaign:<id>}:stats)
KEYS[5]  failed bitmap ({campaign:<id>}:failed): the final outcome was failed (f or t)
KEYS[6]  transient bitmap ({campaign:<id>}:transient): failed for a transient cause (t): sent again on resume
KEYS[7]  sends hash ({campaign:<id>}:sends): messages sent per second (field: epoch second): the pacing controller's
         known future inflow; the pacer removes fields older than its horizon
ARGV[1]  wave number
ARGV[2]  size of the guards' window: when recent_total passes it, every recent_* counter is halved
ARGV[3]  now (ms since the epoch): recorded as w<wave>:finished_at when the wave's last recipient settles or is held
ARGV[4…] pairs: device id (bit offset), outcome — s:<provider> (sent), i (invalid token), f (failed), t (failed for a transient
         cause: 5xx, timeout or 429 after the last attempt), x (inactive), h (held), r (a transient failure that will
         be retried: not an outcome, counted only in the guards' window, every time); i, f, t and r may name the
         provider that answered (i:<provider>, …), which counts the answer in that provider's window as well

Counters: <outcome> and w<wave>:<outcome> (sent, invalid, failed (f and t), inactive, skipped for held),
sent:<provider>, settled and w<wave>:settled, w<wave>:holding (held now, not yet settled), w<wave>:finished_at (once),
progress_at (now: the re-drive watchdog's sign of life), and the guards' windows: recent_total (sent, invalid, failed,
retried), recent_failed (failed and retried: the error rate), recent_invalid (the invalid-token rate) over every
answer, and recent_total:<provider>, recent_failed:<provider>, recent_invalid:<provider> over the answers of each
provider named, each window halved on its own whenever its total passes ARGV[2].
Returns { settled, targeted, last_wave (0: not planned yet), recent_total, recent_failed, recent_invalid, newly counted,
then for each provider named in this call: provider, its recent_total, recent_failed, recent_invalid }.
]]
local settledKey, sentKey, heldKey, stats, failedKey, transientKey, sendsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local w = 'w' .. ARGV[1] .. ':'
local window = tonumber(ARGV[2])
local now = ARGV[3]
local names = { i = 'invalid', f = 'failed', t = 'failed', x = 'inactive' }
-- Counters are added up here and written once per batch (a few HINCRBY), not once per device; the bits likewise: one
-- BITFIELD per bitmap for the whole call (SET u1 returns the old bit, so "counted once" is read from its reply), in
-- chunks of BITS_PER_CALL operations (Lua's unpack has a stack limit), instead of a SETBIT or GETBIT per device.
local add = {}
local function bump(field, n) add[field] = (add[field] or 0) + n end
local BITS_PER_CALL = 1000
-- Sets (op 'SET', value 1) or reads (op 'GET') the bits at `offsets` of `key`; returns the old bits, in order.
local function bits(key, op, offsets)
  local out = {}
  for first = 1, #offsets, BITS_PER_CALL do
    local args = {}
    for i = first, math.min(first + BITS_PER_CALL - 1, #offsets) do
      args[#args + 1] = op
      args[#args + 1] = 'u1'
      args[#args + 1] = offsets[i]
      if op == 'SET' then args[#args + 1] = 1 end
    end
    local reply = redis.call('BITFIELD', key, unpack(args))
    for i = 1, #reply do out[#out + 1] = reply[i] end
  end
  return out
end
-- The guards' windows: the shared one, and the answering provider's.
local providers, named = {}, {}
local function answer(provider, failed, invalid)
  bump('recent_total', 1)
  if failed then bump('recent_failed', 1) end
  if invalid then bump('recent_invalid', 1) end
  if provider == '' then return end
  if not named[provider] then
    named[provider] = true
    providers[#providers + 1] = provider
  end
  bump('recent_total:' .. provider, 1)
  if failed then bump('recent_failed:' .. provider, 1) end
  if invalid then bump('recent_invalid:' .. provider, 1) end
end
-- First pass: check every outcome (an unknown one writes nothing), count the retries, sort the rest by bitmap.
local held, final, finalCode, finalProvider = {}, {}, {}, {}
for n = 4, #ARGV, 2 do
  local id = tonumber(ARGV[n])
  local outcome = ARGV[n + 1]
  local code = string.sub(outcome, 1, 1)
  local provider = string.sub(outcome, 3)
  if string.len(outcome) > 1 and string.sub(outcome, 2, 2) ~= ':' then return redis.error_reply('unknown outcome ' .. outcome) end
  if code == 'r' then
    answer(provider, true, false)
  elseif code == 'h' then
    held[#held + 1] = id
  elseif (code ~= 's' and not names[code]) or (code == 's' and provider == '') then
    return redis.error_reply('unknown outcome ' .. outcome)
  else
    final[#final + 1] = id
    finalCode[#final] = code
    finalProvider[#final] = provider
  end
end
-- Held for quiet hours: counted once per device (the held bitmap).
local anyHeld = redis.call('EXISTS', heldKey) == 1
if #held > 0 then
  local was = bits(heldKey, 'SET', held)
  for i = 1, #held do
    if was[i] == 0 then
      anyHeld = true
      bump('skipped', 1)
      bump(w .. 'skipped', 1)
      bump(w .. 'holding', 1)
    end
  end
end
-- Final outcomes: counted once per device (the settled bitmap); the ledger's sent, failed and transient bits of those
-- counted now.
local counted = 0
local sentIds, failedIds, transientIds, newly = {}, {}, {}, {}
if #final > 0 then
  local was = bits(settledKey, 'SET', final)
  for i = 1, #final do
    if was[i] == 0 then
      counted = counted + 1
      newly[#newly + 1] = final[i]
      local code, provider = finalCode[i], finalProvider[i]
      local name
      if code == 's' then
        name = 'sent'
        sentIds[#sentIds + 1] = final[i]
        bump('sent:' .. provider, 1)
        answer(provider, false, false)
      else
        name = names[code]
        if name == 'failed' then
          answer(provider, true, false)
          failedIds[#failedIds + 1] = final[i]
          if code == 't' then transientIds[#transientIds + 1] = final[i] end
        elseif name == 'invalid' then
          answer(provider, false, true)
        end
      end
      bump(name, 1)
      bump(w .. name, 1)
    end
  end
end
if #sentIds > 0 then bits(sentKey, 'SET', sentIds) end
if #failedIds > 0 then bits(failedKey, 'SET', failedIds) end
if #transientIds > 0 then bits(transientKey, 'SET', transientIds) end
if counted > 0 then
  bump('settled', counted)
  bump(w .. 'settled', counted)
  -- A device held earlier and settled now is no longer holding.
  if anyHeld then
    for _, bit in ipairs(bits(heldKey, 'GET', newly)) do
      if bit == 1 then bump(w .. 'holding', -1) end
    end
  end
end
for field, n in pairs(add) do
  if n ~= 0 then redis.call('HINCRBY', stats, field, n) end
end
redis.call('HSET', stats, 'progress_at', now)
if (add['sent'] or 0) > 0 then redis.call('HINCRBY', sendsKey, math.floor(tonumber(now) / 1000), add['sent']) end
local progress = redis.call('HMGET', stats, w .. 'targeted', w .. 'settled', w .. 'holding')
if progress[1] and tonumber(progress[2] or '0') + tonumber(progress[3] or '0') >= tonumber(progress[1]) then
  redis.call('HSETNX', stats, w .. 'finished_at', now)
end
-- One window (suffix '' for the shared one, ':<provider>' for a provider's): read, halved when past its size.
local function guardWindow(suffix)
  local t, f, i = 'recent_total' .. suffix, 'recent_failed' .. suffix, 'recent_invalid' .. suffix
  local recent = redis.call('HMGET', stats, t, f, i)
  local total, failed, invalid = tonumber(recent[1] or '0'), tonumber(recent[2] or '0'), tonumber(recent[3] or '0')
  if total > window then
    total, failed, invalid = math.floor(total / 2), math.floor(failed / 2), math.floor(invalid / 2)
    redis.call('HSET', stats, t, total, f, failed, i, invalid)
  end
  return total, failed, invalid
end
local recentTotal, recentFailed, recentInvalid = guardWindow('')
local out = {
  tonumber(redis.call('HGET', stats, 'settled') or '0'),
  tonumber(redis.call('HGET', stats, 'targeted') or '0'),
  tonumber(redis.call('HGET', stats, 'last_wave') or '0'),
  recentTotal,
  recentFailed,
  recentInvalid,
  counted,
}
for _, provider in ipairs(providers) do
  local total, failed, invalid = guardWindow(':' .. provider)
  out[#out + 1] = provider
  out[#out + 1] = total
  out[#out + 1] = failed
  out[#out + 1] = invalid
end
return out
