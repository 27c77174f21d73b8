--[[
  A request through the gate renews its session (idle timeout). A session that expired or was revoked is gone.
  Counted first: the request counts against its client's throttle window in this room (_client-window.lua), and a
  refused one decides nothing. One round trip per request through the gate.

  Input:
    KEYS[1] config  KEYS[2] sessions  KEYS[3] client: the client's throttle counter in this room (any key of the room
    when not counted)
    ARGV[1] session id
    ARGV[2] throttle window in ms  ARGV[3] limit per window (0: not counted)  ARGV[4] block in ms after the limit

  Output: {hits, resetMs, 0, <answer...>}, or {hits, resetMs, 1} when the client is over its limit (nothing else
  done). hits and resetMs are 0 when ARGV[3] is 0 (not counted). <answer>:
    session expiry in ms after renewal, 0 if there is no live session, -1 if the room is unknown
]]
--- @include "_room-common"
--- @include "_client-window"

local function decide()
  local cfg = room_config(KEYS[1])
  if not cfg then return -1 end
  local now = now_ms()
  local expires = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
  if not expires or expires <= now then
    if expires then redis.call('ZREM', KEYS[2], ARGV[1]) end
    return 0
  end
  redis.call('ZADD', KEYS[2], now + cfg.session_ms, ARGV[1])
  return now + cfg.session_ms
end

return counted(KEYS[3], 2, decide)
