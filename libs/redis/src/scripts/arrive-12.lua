--[[
  One arrival at a room: admit now (there is capacity, the rate allows, and nobody is waiting), or hand out the
  next ticket. Strict FIFO: nobody is admitted directly while a ticket is outstanding.
  Counted first: the request counts against its client's throttle window in this room (_client-window.lua), and a
  refused one decides nothing. One round trip per request through the gate.

  Input:
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
    KEYS[11] client      the client's throttle counter in this room (any key of the room when not counted)
    KEYS[12] line        the current line's start, epoch seconds: set to now + 1 with the line's first ticket (the
                         tickets counter did not exist: a new room, a room re-created, Redis lost its data)

    ARGV[1] session id to use for a direct admission
    ARGV[2] ttl of a seen bucket in ms
    ARGV[3] ttl of a present bucket in ms
    ARGV[4] throttle window in ms  ARGV[5] limit per window (0: not counted)  ARGV[6] block in ms after the limit

  Output: {hits, resetMs, 0, <answer...>}, or {hits, resetMs, 1} when the client is over its limit (nothing else
  done). hits and resetMs are 0 when ARGV[5] is 0 (not counted). <answer>:
    {'admitted', sessionExpiresAtMs}
    {'ticket', ticket, position, serving, issuedAt}   also while the room is suspended or queue_all is on (nobody
                            is admitted). issuedAt (epoch seconds, Redis clock) = max(now, line): the gateway signs
                            it into the ticket, so every ticket of this line has issuedAt >= line, and every ticket
                            of a line lost before it has issuedAt < line
    {'rejected', active}    queueing method `reject` and the room is full
    {'unknown'}             no hot copy of this room's settings
]]
--- @include "_room-common"
--- @include "_client-window"

local function decide()
  local cfg = room_config(KEYS[1])
  if not cfg then return {'unknown'} end
  local now = now_ms()
  -- Expired sessions are dropped where the sessions are read or written (the releaser drops them too, every step).
  if cfg.method == 'passthrough' and not cfg.suspended then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    redis.call('ZADD', KEYS[4], now + cfg.session_ms, ARGV[1])
    count_admits(KEYS[8], 1, now)
    return {'admitted', now + cfg.session_ms}
  end
  -- One read for the line's counters: goneCount and line are not written before they are used below (line only by
  -- the line's first ticket, which then does not use the value read).
  local counters = redis.call('MGET', KEYS[2], KEYS[3], KEYS[6], KEYS[12])
  local tickets = tonumber(counters[1] or '0')
  local serving = tonumber(counters[2] or '0')
  local closed = cfg.queue_all or cfg.suspended
  if not closed and tickets <= serving then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    local active = redis.call('ZCARD', KEYS[4])
    if active < cfg.total then
      local tokens = bucket_tokens(KEYS[5], cfg.rpm, now)
      if tokens >= 1 then
        bucket_take(KEYS[5], tokens, 1, now)
        redis.call('ZADD', KEYS[4], now + cfg.session_ms, ARGV[1])
        count_admits(KEYS[8], 1, now)
        return {'admitted', now + cfg.session_ms}
      end
    end
  end
  if cfg.method == 'reject' and not cfg.suspended then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    return {'rejected', redis.call('ZCARD', KEYS[4])}
  end
  local ticket = redis.call('INCR', KEYS[2])
  local now_s = math.floor(now / 1000)
  local line
  if ticket == 1 then
    line = now_s + 1 -- strictly after every ticket of a line lost before this one (issued at or before now)
    redis.call('SET', KEYS[12], line)
  else
    line = tonumber(counters[4] or '0') -- as line_start
  end
  mark(KEYS[7], ticket, tonumber(ARGV[2]))
  mark(KEYS[10], ticket, tonumber(ARGV[3]))
  -- At most one clock sample a second: enough to tell the age of the oldest ticket within a second.
  local last = redis.call('ZRANGE', KEYS[9], -1, -1)[1]
  local last_ms = last and tonumber(string.match(last, ':(%d+)$')) or 0
  if now - last_ms >= 1000 then
    redis.call('ZADD', KEYS[9], ticket, ticket .. ':' .. now)
  end
  local gone = tonumber(counters[3] or '0')
  return {'ticket', ticket, ticket - serving - gone, serving, math.max(now_s, line)}
end

return counted(KEYS[11], 4, decide)
