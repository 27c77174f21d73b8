--[[
  A waiting user checks in with their ticket (poll or socket heartbeat): marks the ticket as seen (its place is kept)
  and present (its holder is there now), and answers with its place in line, or with the session reserved for it once
  the releaser has reached it (claiming it: the reservation becomes a session of the room's full duration). A ticket
  the releaser passed over while its holder was away (parked) is first in line again as soon as its holder is back.
  Counted first: the request counts against its client's throttle window in this room (_client-window.lua), and a
  refused one decides nothing. One round trip per request through the gate.

  Input:
    KEYS[1] config  KEYS[2] tickets  KEYS[3] serving  KEYS[4] sessions  KEYS[5] gone
    KEYS[6] seen (current grace bucket)  KEYS[7] present (current presence bucket)
    KEYS[8] parked  tickets passed over while their holders were away (zset: member ticket, score deadline ms)
    KEYS[9] client  the client's throttle counter in this room (any key of the room when not counted)
    KEYS[10] goneBlocks  gone tickets per block of 4096 (Fenwick tree, _gone-blocks.lua)
    KEYS[11] line  the current line's start, epoch seconds (arrive-11+; missing: 0)

    ARGV[1] ticket number
    ARGV[2] ttl of a seen bucket in ms
    ARGV[3] ttl of a present bucket in ms
    ARGV[4] throttle window in ms  ARGV[5] limit per window (0: not counted)  ARGV[6] block in ms after the limit
    ARGV[7] the ticket's issuedAt, epoch seconds: below the line's start, the ticket is of a line lost before this one
            (Redis lost its data, the room was re-created) and is answered 'expired', whatever its number

  Output: {hits, resetMs, 0, <answer...>}, or {hits, resetMs, 1} when the client is over its limit (nothing else
  done). hits and resetMs are 0 when ARGV[5] is 0 (not counted). <answer>:
    {'waiting', position, serving, tickets}   position 1 = next in line (a parked ticket whose holder is back: 1)
    {'admitted', sessionExpiresAtMs, line}    session id: ticket_session(line, ticket) (_room-common.lua)
    {'expired'}                               the ticket's turn came and went, its holder left, or it is of a lost line
    {'invalid'}                               no such ticket was issued
    {'unknown'}                               no hot copy of this room's settings
]]
--- @include "_room-common"
--- @include "_client-window"
--- @include "_gone-blocks"

local function decide()
  local cfg = room_config(KEYS[1])
  if not cfg then return {'unknown'} end
  local ticket = tonumber(ARGV[1])
  -- One read: the line's start (as line_start), the last ticket, serving.
  local counters = redis.call('MGET', KEYS[11], KEYS[2], KEYS[3])
  local line = tonumber(counters[1] or '0')
  if not of_line(line, tonumber(ARGV[7])) then return {'expired'} end
  local tickets = tonumber(counters[2] or '0')
  if ticket < 1 or ticket > tickets then return {'invalid'} end

  local serving = tonumber(counters[3] or '0')
  local now = now_ms()
  if ticket <= serving then
    local sid = ticket_session(line, ticket)
    local expires = tonumber(redis.call('ZSCORE', KEYS[4], sid))
    if expires and expires > now then
      redis.call('ZADD', KEYS[4], now + cfg.session_ms, sid)
      return {'admitted', now + cfg.session_ms, line}
    end
    local deadline = tonumber(redis.call('ZSCORE', KEYS[8], ticket))
    if deadline and deadline > now then
      -- Back within the grace: present again, so the releaser gives it the next free place, before anyone behind.
      mark(KEYS[6], ticket, tonumber(ARGV[2]))
      mark(KEYS[7], ticket, tonumber(ARGV[3]))
      return {'waiting', 1, serving, tickets}
    end
    return {'expired'}
  end

  if redis.call('GETBIT', KEYS[5], ticket) == 1 then return {'expired'} end
  mark(KEYS[6], ticket, tonumber(ARGV[2]))
  mark(KEYS[7], ticket, tonumber(ARGV[3]))
  -- Exact place: those ahead minus those ahead who left (the gone bits between, counted per block: O(log) of the line).
  local gone_ahead = gone_between(KEYS[5], KEYS[10], serving + 1, ticket - 1)
  return {'waiting', ticket - serving - gone_ahead, serving, tickets}
end

return counted(KEYS[9], 4, decide)
