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
-- Per device the script only appends to lists and reads a table: each distinct outcome string (s:fcm, r:apns, …) is
-- parsed once, the counters are added up per distinct outcome and written once per call (a few HINCRBY), and the
-- bits are set per bitmap at once: the bytes the batch's offsets span are read (GETRANGE), the bits set in Lua (the
-- old bit of each is how a device is counted once) and written back (SETRANGE); a span over MAX_SPAN_BYTES goes through
-- BITFIELD instead (SET u1 answers the old bit), in chunks of BITS_PER_CALL operations (Lua's unpack has a stack
-- limit). Measured on 500 sends per call: a SETBIT per device ~1,250-1,370 µs of Redis CPU, BITFIELD with per-device
-- string concatenation ~1,440-1,510 µs, BITFIELD without it ~770-1,000 µs, the byte span ~440-550 µs.
local add = {}
local function bump(field, n) add[field] = (add[field] or 0) + n end
local BITS_PER_CALL = 1000
-- Spans up to this many bytes are read and written whole (GETRANGE, the bits set in Lua, SETRANGE): a batch's offsets
-- are in order and close together. Wider spans (or a GET) go through BITFIELD, BITS_PER_CALL operations at a time.
local MAX_SPAN_BYTES = 4000
-- Sets (op 'SET', value 1) or reads (op 'GET') the bits at `offsets` (numbers) of `key`; returns the old bits, in order.
local function bits(key, op, offsets, count)
  local out = {}
  if op == 'SET' then
    local lo, hi = offsets[1], offsets[1]
    for i = 2, count do
      local off = offsets[i]
      if off < lo then lo = off elseif off > hi then hi = off end
    end
    local first, last = math.floor(lo / 8), math.floor(hi / 8)
    if last - first < MAX_SPAN_BYTES then
      local raw = redis.call('GETRANGE', key, first, last)
      local bytes = { string.byte(raw, 1, -1) }
      for i = #raw + 1, last - first + 1 do bytes[i] = 0 end
      local band, bor = bit.band, bit.bor
      for i = 1, count do
        local off = offsets[i]
        local at = math.floor(off / 8) - first + 1
        local mask = 2 ^ (7 - off % 8)
        local b = bytes[at]
        if band(b, mask) == 0 then
          out[i] = 0
          bytes[at] = bor(b, mask)
        else
          out[i] = 1
        end
      end
      redis.call('SETRANGE', key, first, string.char(unpack(bytes)))
      return out
    end
  end
  local o = 0
  for from = 1, count, BITS_PER_CALL do
    local args, a = {}, 0
    for i = from, math.min(from + BITS_PER_CALL - 1, count) do
      args[a + 1] = op
      args[a + 2] = 'u1'
      args[a + 3] = offsets[i]
      if op == 'SET' then
        args[a + 4] = 1
        a = a + 4
      else
        a = a + 3
      end
    end
    local reply = redis.call('BITFIELD', key, unpack(args, 1, a))
    for i = 1, #reply do out[o + i] = reply[i] end
    o = o + #reply
  end
  return out
end
-- What an outcome string means, parsed once per distinct string: its code and the provider it names ('' for none).
local kinds = {}
local function kindOf(outcome)
  local k = kinds[outcome]
  if k then return k end
  local code, provider = string.sub(outcome, 1, 1), string.sub(outcome, 3)
  local valid = (string.len(outcome) == 1 or string.sub(outcome, 2, 2) == ':')
    and (code == 'r' or code == 'h' or names[code] ~= nil or (code == 's' and provider ~= ''))
  if not valid then return nil end
  k = { code = code, provider = provider, n = 0 }
  kinds[outcome] = k
  return k
end
-- First pass: check every outcome (an unknown one writes nothing), count the retries, sort the rest by bitmap.
local held, nHeld = {}, 0
local final, finalKind, nFinal = {}, {}, 0
for n = 4, #ARGV, 2 do
  local outcome = ARGV[n + 1]
  local k = kindOf(outcome)
  if not k then return redis.error_reply('unknown outcome ' .. outcome) end
  local code = k.code
  if code == 'r' then
    k.n = k.n + 1
  elseif code == 'h' then
    nHeld = nHeld + 1
    held[nHeld] = tonumber(ARGV[n])
  else
    nFinal = nFinal + 1
    final[nFinal] = tonumber(ARGV[n])
    finalKind[nFinal] = k
  end
end
-- Held for quiet hours: counted once per device (the held bitmap).
local anyHeld = redis.call('EXISTS', heldKey) == 1
if nHeld > 0 then
  local was, newlyHeld = bits(heldKey, 'SET', held, nHeld), 0
  for i = 1, nHeld do
    if was[i] == 0 then newlyHeld = newlyHeld + 1 end
  end
  if newlyHeld > 0 then
    anyHeld = true
    bump('skipped', newlyHeld)
    bump(w .. 'skipped', newlyHeld)
    bump(w .. 'holding', newlyHeld)
  end
end
-- Final outcomes: counted once per device (the settled bitmap); the ledger's sent, failed and transient bits of those
-- counted now.
local counted = 0
local sentIds, nSent, failedIds, nFailed, transientIds, nTransient, newly = {}, 0, {}, 0, {}, 0, {}
if nFinal > 0 then
  local was = bits(settledKey, 'SET', final, nFinal)
  for i = 1, nFinal do
    if was[i] == 0 then
      counted = counted + 1
      newly[counted] = final[i]
      local k = finalKind[i]
      k.n = k.n + 1
      local code = k.code
      if code == 's' then
        nSent = nSent + 1
        sentIds[nSent] = final[i]
      elseif code == 'f' or code == 't' then
        nFailed = nFailed + 1
        failedIds[nFailed] = final[i]
        if code == 't' then
          nTransient = nTransient + 1
          transientIds[nTransient] = final[i]
        end
      end
    end
  end
end
if nSent > 0 then bits(sentKey, 'SET', sentIds, nSent) end
if nFailed > 0 then bits(failedKey, 'SET', failedIds, nFailed) end
if nTransient > 0 then bits(transientKey, 'SET', transientIds, nTransient) end
if counted > 0 then
  bump('settled', counted)
  bump(w .. 'settled', counted)
  -- A device held earlier and settled now is no longer holding.
  if anyHeld then
    for _, bit in ipairs(bits(heldKey, 'GET', newly, counted)) do
      if bit == 1 then bump(w .. 'holding', -1) end
    end
  end
end
-- The counters, once per distinct outcome: the outcome's own (and its wave's), sent:<provider>, and the guards'
-- windows: the shared one and the answering provider's (r counts there only, every time).
local providers, named = {}, {}
for _, k in pairs(kinds) do
  local n, code, provider = k.n, k.code, k.provider
  if n > 0 and code ~= 'h' then
    local name = code == 's' and 'sent' or names[code]
    if name then
      bump(name, n)
      bump(w .. name, n)
    end
    if code == 's' then bump('sent:' .. provider, n) end
    if code ~= 'x' then
      local failed = code == 'r' or code == 'f' or code == 't'
      local invalid = code == 'i'
      bump('recent_total', n)
      if failed then bump('recent_failed', n) end
      if invalid then bump('recent_invalid', n) end
      if provider ~= '' then
        if not named[provider] then
          named[provider] = true
          providers[#providers + 1] = provider
        end
        bump('recent_total:' .. provider, n)
        if failed then bump('recent_failed:' .. provider, n) end
        if invalid then bump('recent_invalid:' .. provider, n) end
      end
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
