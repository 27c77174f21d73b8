--[[
  Someone leaves: a waiting ticket is marked gone (skipped when its turn comes; the people behind move up at once), a
  parked ticket loses its kept place, and/or a session ends (its capacity frees up for the next in line).

  Input:
    KEYS[1] tickets  KEYS[2] serving  KEYS[3] gone  KEYS[4] goneCount  KEYS[5] sessions  KEYS[6] parked
    KEYS[7] goneBlocks  gone tickets per block of 4096 (Fenwick tree, _gone-blocks.lua): counts each new gone bit
    ARGV[1] ticket number, or 0
    ARGV[2] session id, or ''

  Output: {ticketLeft (0|1), sessionEnded (0|1)}
]]
--- @include "_gone-blocks"

local ticket = tonumber(ARGV[1])
local left, ended = 0, 0
if ticket > 0 then
  local tickets = tonumber(redis.call('GET', KEYS[1]) or '0')
  local serving = tonumber(redis.call('GET', KEYS[2]) or '0')
  if ticket > serving and ticket <= tickets and redis.call('SETBIT', KEYS[3], ticket, 1) == 0 then
    redis.call('INCR', KEYS[4])
    gone_blocks_add(KEYS[7], ticket)
    left = 1
  elseif ticket <= serving then
    ended = redis.call('ZREM', KEYS[5], 't' .. ticket)
    left = redis.call('ZREM', KEYS[6], ticket)
  end
end
if ARGV[2] ~= '' then
  ended = math.max(ended, redis.call('ZREM', KEYS[5], ARGV[2]))
end
return {left, ended}
