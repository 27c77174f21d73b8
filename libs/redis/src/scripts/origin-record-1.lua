--[[
  Adds one gateway's measurements of a room's origin for one epoch second to the room's origin hash, where every
  gateway's counts for that second add up (the releasers read the sum over a sliding window: origin-window-1).

  Input:
    KEYS[1]  origin     per-second counts (hash: "<second>:<field>" -> count)

    ARGV[1]  the epoch second measured
    ARGV[2]  how long to keep the hash after this write, in ms (a little more than the window)
    ARGV[3..] pairs: field, count (fields: r requests, b<i> latency bucket i, e:<kind> errors of a kind)

  Output:
    the number of fields incremented
]]
local second = ARGV[1]
local n = 0
for i = 3, #ARGV - 1, 2 do
  local count = tonumber(ARGV[i + 1])
  if count and count > 0 then
    redis.call('HINCRBY', KEYS[1], second .. ':' .. ARGV[i], count)
    n = n + 1
  end
end
if n > 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return n
