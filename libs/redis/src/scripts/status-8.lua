--[[
  A waiting user checks in with their ticket (poll or socket heartbeat): marks the ticket as seen, and answers with
  its place in line, or with the session reserved for it once the releaser has reached it (claiming it: the
  reservation becomes a session of the room's full duration).

  Input:
    KEYS[1] config  KEYS[2] tickets  KEYS[3] serving  KEYS[4] sessions  KEYS[5] goneCount  KEYS[6] gone
    KEYS[7] seen (current bucket)    KEYS[8] admits (unused today; keeps the key list stable)

    ARGV[1] ticket number
    ARGV[2] ttl of a seen bucket in ms

  Output:
    {'waiting', position, serving, tickets}   position 1 = next in line
    {'admitted', sessionExpiresAtMs}          session id is 't' .. ticket
    {'expired'}                               the ticket's turn came and went, or its holder left
    {'invalid'}                               no such ticket was issued
    {'unknown'}                               no hot copy of this room's settings
]]
--- @include "_room-common"

local cfg = room_config(KEYS[1])
if not cfg then return {'unknown'} end
local ticket = tonumber(ARGV[1])
local tickets = tonumber(redis.call('GET', KEYS[2]) or '0')
if ticket < 1 or ticket > tickets then return {'invalid'} end

local serving = tonumber(redis.call('GET', KEYS[3]) or '0')
local now = now_ms()
if ticket <= serving then
  local sid = 't' .. ticket
  local expires = tonumber(redis.call('ZSCORE', KEYS[4], sid))
  if expires and expires > now then
    redis.call('ZADD', KEYS[4], now + cfg.session_ms, sid)
    return {'admitted', now + cfg.session_ms}
  end
  return {'expired'}
end

if redis.call('GETBIT', KEYS[6], ticket) == 1 then return {'expired'} end
redis.call('SETBIT', KEYS[7], ticket, 1)
redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[2]))
-- Exact place: those ahead minus those ahead who left (one bit each; BITCOUNT over the bits between).
local gone_ahead = 0
if ticket - serving > 1 then
  gone_ahead = redis.call('BITCOUNT', KEYS[6], serving + 1, ticket - 1, 'BIT')
end
return {'waiting', ticket - serving - gone_ahead, serving, tickets}
