--[[
  Someone leaves: a waiting ticket is marked gone (skipped when its turn comes; the people behind move up at once), a
  parked ticket loses its kept place, and/or a session ends (its capacity frees up for the next in line).

  Input:
    KEYS[1] tickets  KEYS[2] serving  KEYS[3] gone  KEYS[4] goneCount  KEYS[5] sessions  KEYS[6] parked
    KEYS[7] goneBlocks  gone tickets per block of 4096 (Fenwick tree, _gone-blocks.lua): counts each new gone bit
    KEYS[8] line  the current line's start, epoch seconds (arrive-11+; missing: 0)
    ARGV[1] ticket number, or 0
    ARGV[2] session id, or ''
    ARGV[3] the ticket's issuedAt, epoch seconds: a ticket issued before the line's start (of a lost line) changes
            nothing: it must never mark the new line's holder of the same number gone, nor end their session

  Output: {ticketLeft (0|1), sessionEnded (0|1)}
]]
--- @include "_room-common"
--- @include "_gone-blocks"

local ticket = tonumber(ARGV[1])
local left, ended = 0, 0
local line = line_start(KEYS[8])
if ticket > 0 and of_line(line, tonumber(ARGV[3])) then
  local tickets = tonumber(redis.call('GET', KEYS[1]) or '0')
  local serving = tonumber(redis.call('GET', KEYS[2]) or '0')
  if ticket > serving and ticket <= tickets and redis.call('SETBIT', KEYS[3], ticket, 1) == 0 then
    redis.call('INCR', KEYS[4])
    gone_blocks_add(KEYS[7], ticket)
    left = 1
  elseif ticket <= serving then
    ended = redis.call('ZREM', KEYS[5], ticket_session(line, ticket))
    left = redis.call('ZREM', KEYS[6], ticket)
  end
end
if ARGV[2] ~= '' then
  ended = math.max(ended, redis.call('ZREM', KEYS[5], ARGV[2]))
end
return {left, ended}
