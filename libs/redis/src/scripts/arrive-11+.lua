--[[
  The arrivals of one room that reached a gateway together (one event-loop turn; libs/admission/src/arrival-batches.ts),
  in the order they came, each decided exactly as if it were alone in a script of its own (issue #12): admit now
  (there is capacity, the rate allows, and nobody is waiting), or hand out the next ticket. Strict FIFO: nobody is
  admitted directly while a ticket is outstanding, and once one arrival of the batch took a ticket every later one
  does too. One script call, so one round trip, for all of them; the room's state is read once and written once.
  Each arrival is counted first against its client's throttle window in this room (_client-window.lua), and a refused
  one decides nothing.

  Input (the `+`: at least 11 keys; one more per arrival):
    KEYS[1]  config      room settings (hash)
    KEYS[2]  tickets     last ticket number issued
    KEYS[3]  serving     every ticket up to this number has been released
    KEYS[4]  sessions    sessions and reservations scored by expiry ms (zset)
    KEYS[5]  rate        admission token bucket (hash)
    KEYS[6]  goneCount   gone tickets after serving
    KEYS[7]  seen        seen-bitmap of the current grace bucket (the place is kept)
    KEYS[8]  admits      admissions per second (hash)
    KEYS[9]  clock       (ticket, issue time) samples (zset: score ticket, member "ticket:ms")
    KEYS[10] present     present-bitmap of the current presence bucket (the holder is there now)
    KEYS[11] line        the current line's start, epoch seconds: set to now + 1 with the line's first ticket (the
                         tickets counter did not exist: a new room, a room re-created, Redis lost its data)
    KEYS[11 + i]         arrival i's throttle counter in this room (any key of the room when it is not counted)

    ARGV[1] ttl of a seen bucket in ms   ARGV[2] ttl of a present bucket in ms
    then 4 per arrival i (from ARGV[3 + 4 * (i - 1)]): the session id to use for a direct admission, the throttle
    window in ms, the limit per window (0: not counted), the block in ms after the limit

  Output: one reply per arrival, in order: {hits, resetMs, 0, <answer...>}, or {hits, resetMs, 1} when the client is
  over its limit (nothing else done for it). hits and resetMs are 0 when its limit is 0 (not counted). <answer>:
    {'admitted', sessionExpiresAtMs}
    {'ticket', ticket, position, serving, issuedAt}   also while the room is suspended or queue_all is on (nobody
                            is admitted). issuedAt (epoch seconds, Redis clock) = max(now, line): the gateway signs
                            it into the ticket, so every ticket of this line has issuedAt >= line, and every ticket
                            of a line lost before it has issuedAt < line
    {'rejected', active}    queueing method `reject` and the room is full
    {'unknown'}             no hot copy of this room's settings

  The batch happens at one instant (one TIME): what an arrival writes is what the next one reads, kept in locals and
  written once at the end (tickets by INCRBY, the new sessions by one ZADD, the new tickets' seen and present bits by
  one BITFIELD each, the token bucket and the admissions count once), so the keys end as the same arrivals one script
  each would leave them.
]]
--- @include "_room-common"
--- @include "_client-window"

local FIXED = 11
local count = #KEYS - FIXED
local cfg = room_config(KEYS[1])

-- The room's state, read on first use and kept here for the rest of the batch.
local now, now_s
local counters_read = false
local tickets, serving, gone, line = 0, 0, 0, 0
local active = nil -- live sessions (expired ones dropped once), plus the sessions this batch added
local tokens = nil -- the admission bucket's tokens, after this batch's takes
local taken = 0
local new_sessions = {} -- ZADD arguments: score, member, ...
local admitted = 0
local first_ticket = nil -- the first ticket this batch issued (its tickets are first_ticket .. tickets)
local line_started = false
local clock_checked = false

local function read_counters()
  if counters_read then return end
  counters_read = true
  local c = redis.call('MGET', KEYS[2], KEYS[3], KEYS[6], KEYS[11])
  tickets = tonumber(c[1] or '0')
  serving = tonumber(c[2] or '0')
  gone = tonumber(c[3] or '0')
  line = tonumber(c[4] or '0') -- as line_start
end

-- Live sessions: expired ones are dropped where the sessions are read or written (the releaser drops them too).
local function live_sessions()
  if active == nil then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    active = redis.call('ZCARD', KEYS[4])
  end
  return active
end

local function admit(session)
  new_sessions[#new_sessions + 1] = now + cfg.session_ms
  new_sessions[#new_sessions + 1] = session
  admitted = admitted + 1
  if active ~= nil then active = active + 1 end
  return {'admitted', now + cfg.session_ms}
end

local function decide(session)
  if not cfg then return {'unknown'} end
  if not now then
    now = now_ms()
    now_s = math.floor(now / 1000)
  end
  if cfg.method == 'passthrough' and not cfg.suspended then
    live_sessions()
    return admit(session)
  end
  read_counters()
  local closed = cfg.queue_all or cfg.suspended
  if not closed and tickets <= serving then
    if live_sessions() < cfg.total then
      if tokens == nil then tokens = bucket_tokens(KEYS[5], cfg.rpm, now) end
      if tokens >= 1 then
        tokens = tokens - 1
        taken = taken + 1
        return admit(session)
      end
    end
  end
  if cfg.method == 'reject' and not cfg.suspended then
    return {'rejected', live_sessions()}
  end
  tickets = tickets + 1
  local ticket = tickets
  if not first_ticket then first_ticket = ticket end
  if ticket == 1 then
    line = now_s + 1 -- strictly after every ticket of a line lost before this one (issued at or before now)
    line_started = true
  end
  -- At most one clock sample a second: enough to tell the age of the oldest ticket within a second.
  if not clock_checked then
    clock_checked = true
    local last = redis.call('ZRANGE', KEYS[9], -1, -1)[1]
    local last_ms = last and tonumber(string.match(last, ':(%d+)$')) or 0
    if now - last_ms >= 1000 then
      redis.call('ZADD', KEYS[9], ticket, ticket .. ':' .. now)
    end
  end
  return {'ticket', ticket, ticket - serving - gone, serving, math.max(now_s, line)}
end

-- Sets the bits first .. last of a bitmap (32 at a time: BITFIELD SET of an all-ones field) and renews its expiry.
local function mark_range(key, first, last, ttl)
  local ops = {}
  local at = first
  while at <= last do
    local width = math.min(32, last - at + 1)
    ops[#ops + 1] = 'SET'
    ops[#ops + 1] = 'u' .. width
    ops[#ops + 1] = at
    ops[#ops + 1] = 2 ^ width - 1
    at = at + width
  end
  redis.call('BITFIELD', key, unpack(ops))
  redis.call('PEXPIRE', key, ttl)
end

local replies = {}
for i = 1, count do
  local a = 3 + 4 * (i - 1)
  local hits, ttl, blocked = count_client(KEYS[FIXED + i], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]))
  if blocked == 1 then
    replies[i] = {hits, ttl, 1}
  else
    local reply = decide(ARGV[a])
    table.insert(reply, 1, 0)
    table.insert(reply, 1, ttl)
    table.insert(reply, 1, hits)
    replies[i] = reply
  end
end

-- What the batch changed, written once.
if first_ticket then
  redis.call('INCRBY', KEYS[2], tickets - first_ticket + 1)
  if line_started then redis.call('SET', KEYS[11], line) end
  mark_range(KEYS[7], first_ticket, tickets, tonumber(ARGV[1]))
  mark_range(KEYS[10], first_ticket, tickets, tonumber(ARGV[2]))
end
if admitted > 0 then
  redis.call('ZADD', KEYS[4], unpack(new_sessions))
  if taken > 0 then bucket_take(KEYS[5], tokens + taken, taken, now) end
  count_admits(KEYS[8], admitted, now)
end
return replies
