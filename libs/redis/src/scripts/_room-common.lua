-- Shared by the room scripts (prepended by the loader; see scripts.ts). Not a script of its own.

-- Server time in ms: every gateway and ws process agrees on the clock of Redis.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The room's settings from its config hash; nil if the room has no hot copy. `rpm` is the admission rate in effect:
-- new_users_per_minute times origin_factor (live state the releasers write: below 1 while the room's origin is
-- unhealthy; missing means 1).
local function room_config(key)
  local v = redis.call('HMGET', key, 'total_active_users', 'new_users_per_minute', 'session_duration_seconds',
    'queueing_method', 'queue_all', 'suspended', 'origin_factor')
  if not v[1] then return nil end
  local factor = tonumber(v[7] or '1') or 1
  if factor < 0 then factor = 0 elseif factor > 1 then factor = 1 end
  return {
    total = tonumber(v[1]),
    rpm = tonumber(v[2]) * factor,
    session_ms = tonumber(v[3]) * 1000,
    method = v[4] or 'fifo',
    queue_all = v[5] == '1',
    suspended = v[6] == '1',
  }
end

-- Admission-rate token bucket: refills at rpm per minute, holds at most 10 seconds' worth (at least 1), so a
-- freshly opened room cannot let a whole minute of users in at once. A rate of 0 (origin_factor 0) admits nobody.
local function bucket_tokens(key, rpm, now)
  if rpm <= 0 then return 0 end
  local cap = math.max(1, math.floor(rpm / 6))
  local b = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(b[1]), tonumber(b[2])
  if not tokens then return cap end
  return math.min(cap, tokens + math.max(0, now - ts) * rpm / 60000)
end

local function bucket_take(key, tokens_before, taken, now)
  redis.call('HSET', key, 'tokens', tostring(tokens_before - taken), 'ts', now)
  redis.call('PEXPIRE', key, 3600000)
end

-- Counts admissions per epoch second (for the measured admission rate).
local function count_admits(key, n, now)
  if n > 0 then
    redis.call('HINCRBY', key, math.floor(now / 1000), n)
    redis.call('PEXPIRE', key, 120000)
  end
end

-- A bit set in either of two bitmaps (the current and the previous time bucket).
local function bit_in(current, previous, n)
  return redis.call('GETBIT', current, n) == 1 or redis.call('GETBIT', previous, n) == 1
end

-- Marks a ticket in a time-bucket bitmap that expires ttl ms after its last write.
local function mark(key, n, ttl)
  redis.call('SETBIT', key, n, 1)
  redis.call('PEXPIRE', key, ttl)
end

-- The current line's start, epoch seconds (room key `line`, written by arrive with the line's first ticket): every
-- ticket of the line was issued at or after it, every ticket of a line lost before it (Redis restarted empty, the room
-- re-created) before it. Missing: 0 (a line begun before lines had a start; its tickets are all of it).
local function line_start(key)
  return tonumber(redis.call('GET', key) or '0')
end

-- A ticket (number, issuedAt seconds) of the current line?
local function of_line(line, issued_at)
  return issued_at >= line
end

-- The session id of a ticket admitted through the line: 't<line>-<ticket>' ('t<ticket>' in line 0), so a session of a
-- lost line never matches the new line's session of the same number. Decoded by ticketSessionId (admission-results.ts).
local function ticket_session(line, ticket)
  if line == 0 then return 't' .. ticket end
  return 't' .. string.format('%d', line) .. '-' .. ticket
end
