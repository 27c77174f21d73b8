--[[
dispatch-record: records the outcome of sends for one wave of a campaign, each device counted once however often a
retry or a restarted worker records it again. The settled bitmap is the ledger the sender checks before sending.

Partitions (libs/redis/src/dispatch-partitions.ts): the keys are one dispatch partition's ({dp<p>.<k>}:campaign:<id>:…,
or the campaign's own {campaign:<id>}:… when it has one partition), and a device "id" below is its bit offset in that
partition (bitOffset in dispatch-partitions.ts: floor(device id / partitions) in the layout by single ids). With more than one partition the stats hash holds no w<wave>:targeted, so
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
ARGV[4]  the window generation the batch read before it sent (the stats hash's window_gen, absent = 0; bumped by
         dispatch-guards-reset-1.lua on each resume), or '-': its answers are counted in the guards' windows only if it
         is still the hash's. Else the campaign was resumed since: the answers are to sends made before the resume, and
         are recorded (ledger, counters) but not judged again.
ARGV[5]  how the outcomes are given: a byte offset F (masks, below), or '-' (pairs of device id and outcome)
ARGV[6…] with F (a batch whose devices' bits lie close together): pairs of outcome and value, each outcome once: the
         value is a mask of the devices with that outcome (a string whose byte j, bits in Redis's order, stands for
         byte F + j of the bitmaps: bit offset 8 × (F + j) + b is 0x80 >> b of it; at most MAX_SPAN_BYTES long), or for r
         the number of such answers. With '-': pairs of device id (bit offset) and outcome.
         Outcomes: s:<provider> (sent), i (invalid token), f (failed), t (failed for a transient cause: 5xx, timeout or
         429 after the last attempt), x (inactive), h (held), r (a transient failure that will be retried: not an
         outcome, counted only in the guards' window, every time); i, f, t and r may name the provider that answered
         (i:<provider>, …), which counts the answer in that provider's window as well. A device given more than one
         final outcome in one call is counted once, with the first (pairs: in order; masks: the first outcome given).

Counters: <outcome> and w<wave>:<outcome> (sent, invalid, failed (f and t), inactive, skipped for held),
sent:<provider>, settled and w<wave>:settled, w<wave>:holding (held now, not yet settled), w<wave>:finished_at (once),
progress_at (now: the re-drive watchdog's sign of life), and the guards' windows: recent_total (sent, invalid, failed,
retried), recent_failed (failed and retried: the error rate), recent_invalid (the invalid-token rate) over every
answer, and recent_total:<provider>, recent_failed:<provider>, recent_invalid:<provider> over the answers of each
provider named, each window halved on its own whenever its total passes ARGV[2] (none of them when ARGV[4] is not the
current generation).
Returns { settled, targeted, last_wave (0: not planned yet), recent_total, recent_failed, recent_invalid, newly counted,
judged (1: this call's answers were counted in the guards' windows; 0: ARGV[4] was an older generation), finished
(1: this call recorded w<wave>:finished_at: the wave's last recipient settled or was held now), then for each provider
named in this call: provider, its recent_total, recent_failed, recent_invalid }.
]]
local settledKey, sentKey, heldKey, stats, failedKey, transientKey, sendsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local w = 'w' .. ARGV[1] .. ':'
local window = tonumber(ARGV[2])
local now = ARGV[3]
local names = { i = 'invalid', f = 'failed', t = 'failed', x = 'inactive' }
-- The per-batch work is O(batch) and as little of it as possible runs in Lua, whose every step costs (measured on 500
-- sends per call, Redis CPU: a SETBIT per device ~1,250-1,370 µs; BITFIELD ~770-1,000 µs; the bytes a batch spans
-- read, set bit by bit in Lua and written back ~440-550 µs; masks ~60-90 µs). With masks (a batch whose offsets lie
-- close together: the caller sends them when the span is small next to the batch) the script works a byte at a time:
-- one GETRANGE and one SETRANGE per bitmap written, the new bits of a byte are its mask AND NOT the old ones, counted
-- with a popcount. Otherwise the bits go through BITFIELD (SET u1 answers the old bit, which is how a device is
-- counted once), BITS_PER_CALL operations at a time (Lua's unpack has a stack limit). Each distinct outcome string
-- (s:fcm, r:apns, …) is parsed once, and the counters are added up per distinct outcome and written once per call.
local add = {}
local function bump(field, n) add[field] = (add[field] or 0) + n end
local BITS_PER_CALL = 1000
-- A mask may be at most this long (string.byte and unpack put every byte on Lua's stack, whose limit is 8,000).
local MAX_SPAN_BYTES = 4000
local band, bor, bnot = bit.band, bit.bor, bit.bnot
local POP = { -- POP[b + 1]: the number of bits set in byte b
  0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5,
  1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6,
  1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6,
  2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7,
  1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6,
  2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7,
  2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7,
  3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7, 4, 5, 5, 6, 5, 6, 6, 7, 5, 6, 6, 7, 6, 7, 7, 8,
}
-- Sets (op 'SET', value 1) or reads (op 'GET') the bits at `offsets` (numbers) of `key`; returns the old bits, in order.
local function bits(key, op, offsets, count)
  local out, o = {}, 0
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
-- Bytes first … first + len - 1 of `key` as numbers (0 past its end).
local function readBytes(key, first, len)
  local raw = redis.call('GETRANGE', key, first, first + len - 1)
  local b = { string.byte(raw, 1, -1) }
  for j = #raw + 1, len do b[j] = 0 end
  return b
end
-- ORs `new` (byte index → bits) into bytes first … first + len - 1 of `key`.
local function orBytes(key, first, len, new)
  local b = readBytes(key, first, len)
  for j, nb in pairs(new) do
    local o = b[j]
    b[j] = o == 0 and nb or bor(o, nb)
  end
  redis.call('SETRANGE', key, first, string.char(unpack(b, 1, len)))
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
local counted, anyHeld = 0, nil
local function isAnyHeld()
  if anyHeld == nil then anyHeld = redis.call('EXISTS', heldKey) == 1 end
  return anyHeld
end
-- Devices held for the first time in this call (both ways of giving outcomes count them here).
local function countHeld(n)
  anyHeld = true
  bump('skipped', n)
  bump(w .. 'skipped', n)
  bump(w .. 'holding', n)
end
-- Answers to sends made before the last resume are not counted in the windows that resume started afresh.
local judged = ARGV[4] == '-' or ARGV[4] == (redis.call('HGET', stats, 'window_gen') or '0')
local first = ARGV[5]
if first ~= '-' then
  first = tonumber(first)
  if not first or first < 0 or first % 1 ~= 0 then return redis.error_reply('invalid first byte ' .. ARGV[5]) end
  -- Check every outcome and value first (an unknown one writes nothing).
  local heldMasks, finals, len = {}, {}, 0
  for n = 6, #ARGV, 2 do
    local outcome, value = ARGV[n], ARGV[n + 1]
    local k = kindOf(outcome)
    if not k or value == nil then return redis.error_reply('unknown outcome ' .. outcome) end
    if k.code == 'r' then
      local count = tonumber(value)
      if not count or count < 0 or count % 1 ~= 0 then return redis.error_reply('invalid count for ' .. outcome) end
      k.n = k.n + count
    else
      if #value > MAX_SPAN_BYTES then return redis.error_reply('mask longer than ' .. MAX_SPAN_BYTES .. ' bytes') end
      if #value > len then len = #value end
      if k.code == 'h' then heldMasks[#heldMasks + 1] = value else finals[#finals + 1] = { k, value } end
    end
  end
  -- Held for quiet hours: counted once per device (the held bitmap). A byte whose old bits are all 0 (the usual case)
  -- takes the mask as it is: no bit operation.
  local heldBytes
  if #heldMasks > 0 then
    heldBytes = readBytes(heldKey, first, len)
    local newlyHeld = 0
    for _, mask in ipairs(heldMasks) do
      local m = { string.byte(mask, 1, -1) }
      for j = 1, #m do
        local mj = m[j]
        if mj ~= 0 then
          local old = heldBytes[j]
          local nb = old == 0 and mj or band(mj, bnot(old))
          if nb ~= 0 then
            newlyHeld = newlyHeld + POP[nb + 1]
            heldBytes[j] = old == 0 and nb or bor(old, nb)
          end
        end
      end
    end
    if newlyHeld > 0 then
      redis.call('SETRANGE', heldKey, first, string.char(unpack(heldBytes, 1, len)))
      countHeld(newlyHeld)
    end
  end
  -- Final outcomes: counted once per device (the settled bitmap); the ledger's sent, failed and transient bits of those
  -- counted now (byte index → new bits).
  if #finals > 0 then
    local settled = readBytes(settledKey, first, len)
    local before = { unpack(settled, 1, len) }
    local sentNew, failedNew, transientNew = {}, {}, {}
    local anySent, anyFailed, anyTransient = false, false, false
    for _, f in ipairs(finals) do
      local k, m = f[1], { string.byte(f[2], 1, -1) }
      local code, n = k.code, 0
      local into = (code == 's' and sentNew) or ((code == 'f' or code == 't') and failedNew) or nil
      local transient = code == 't'
      for j = 1, #m do
        local mj = m[j]
        if mj ~= 0 then
          local old, nb = settled[j], mj
          if old == 0 then
            settled[j] = mj
          else
            nb = band(mj, bnot(old))
            if nb ~= 0 then settled[j] = bor(old, nb) end
          end
          if nb ~= 0 then
            n = n + POP[nb + 1]
            if into then
              local t = into[j]
              into[j] = t and bor(t, nb) or nb
            end
            if transient then
              local t = transientNew[j]
              transientNew[j] = t and bor(t, nb) or nb
            end
          end
        end
      end
      if n > 0 then
        if code == 's' then anySent = true elseif into then anyFailed = true end
        if transient then anyTransient = true end
      end
      k.n = k.n + n
      counted = counted + n
    end
    if counted > 0 then
      redis.call('SETRANGE', settledKey, first, string.char(unpack(settled, 1, len)))
      if anySent then orBytes(sentKey, first, len, sentNew) end
      if anyFailed then orBytes(failedKey, first, len, failedNew) end
      if anyTransient then orBytes(transientKey, first, len, transientNew) end
      bump('settled', counted)
      bump(w .. 'settled', counted)
      -- A device held earlier and settled now is no longer holding.
      if isAnyHeld() then
        heldBytes = heldBytes or readBytes(heldKey, first, len)
        local was = 0
        for j = 1, len do
          local b = before[j]
          if settled[j] ~= b then
            local both = band(band(settled[j], bnot(b)), heldBytes[j])
            if both ~= 0 then was = was + POP[both + 1] end
          end
        end
        if was > 0 then bump(w .. 'holding', -was) end
      end
    end
  end
else
  -- Pairs of device id and outcome. First pass: check every outcome (an unknown one writes nothing), count the
  -- retries, sort the rest by bitmap.
  local held, nHeld = {}, 0
  local final, finalKind, nFinal = {}, {}, 0
  for n = 6, #ARGV, 2 do
    local outcome = ARGV[n + 1]
    local k = outcome and kindOf(outcome)
    if not k then return redis.error_reply('unknown outcome ' .. tostring(outcome)) end
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
  if nHeld > 0 then
    local was, newlyHeld = bits(heldKey, 'SET', held, nHeld), 0
    for i = 1, nHeld do
      if was[i] == 0 then newlyHeld = newlyHeld + 1 end
    end
    if newlyHeld > 0 then countHeld(newlyHeld) end
  end
  -- Final outcomes: counted once per device (the settled bitmap); the ledger's sent, failed and transient bits of
  -- those counted now.
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
    if isAnyHeld() then
      for _, b in ipairs(bits(heldKey, 'GET', newly, counted)) do
        if b == 1 then bump(w .. 'holding', -1) end
      end
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
    if code ~= 'x' and judged then
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
-- What the caller decides on, read at once: the wave's progress, the totals, the guards' windows (the shared one, then
-- each provider's named in this call).
local fields = { w .. 'targeted', w .. 'settled', w .. 'holding', 'settled', 'targeted', 'last_wave' }
local suffixes = { '' }
for _, provider in ipairs(providers) do suffixes[#suffixes + 1] = ':' .. provider end
for _, suffix in ipairs(suffixes) do
  local at = #fields
  fields[at + 1], fields[at + 2], fields[at + 3] = 'recent_total' .. suffix, 'recent_failed' .. suffix, 'recent_invalid' .. suffix
end
local v = redis.call('HMGET', stats, unpack(fields))
local finished = 0
if v[1] and tonumber(v[2] or '0') + tonumber(v[3] or '0') >= tonumber(v[1]) then
  finished = redis.call('HSETNX', stats, w .. 'finished_at', now)
end
local out = { tonumber(v[4] or '0'), tonumber(v[5] or '0'), tonumber(v[6] or '0') }
-- Each window: halved when past its size.
for s, suffix in ipairs(suffixes) do
  local at = 6 + 3 * (s - 1)
  local total, failed, invalid = tonumber(v[at + 1] or '0'), tonumber(v[at + 2] or '0'), tonumber(v[at + 3] or '0')
  if total > window then
    total, failed, invalid = math.floor(total / 2), math.floor(failed / 2), math.floor(invalid / 2)
    redis.call('HSET', stats, fields[at + 1], total, fields[at + 2], failed, fields[at + 3], invalid)
  end
  if s == 1 then
    out[4], out[5], out[6], out[7], out[8], out[9] = total, failed, invalid, counted, judged and 1 or 0, finished
  else
    local o = #out
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = providers[s - 1], total, failed, invalid
  end
end
return out
