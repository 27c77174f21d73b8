--[[
  A request through the gate renews its session (idle timeout). A session that expired or was revoked is gone.

  Input:
    KEYS[1] config  KEYS[2] sessions
    ARGV[1] session id

  Output: session expiry in ms after renewal, 0 if there is no live session, -1 if the room is unknown
]]
--- @include "_room-common"
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
