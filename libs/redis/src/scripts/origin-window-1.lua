--[[
  The sum of every gateway's measurements of a room's origin over a window of epoch seconds; drops the seconds
  before the window (so the hash holds at most a window's worth of seconds).

  Input:
    KEYS[1]  origin     per-second counts (hash: "<second>:<field>" -> count), written by origin-record-1

    ARGV[1]  first second of the window (inclusive)
    ARGV[2]  last second of the window (inclusive)

  Output:
    flat list: field, total, field, total, … (fields as written: r, b<i>, e:<kind>; only those with counts)
]]
local first = tonumber(ARGV[1])
local last = tonumber(ARGV[2])
local totals = {}
local order = {}
local stale = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local second, field = string.match(all[i], '^(%d+):(.+)$')
  second = tonumber(second)
  if not second or second < first then
    stale[#stale + 1] = all[i]
  elseif second <= last then
    if not totals[field] then
      totals[field] = 0
      order[#order + 1] = field
    end
    totals[field] = totals[field] + tonumber(all[i + 1])
  end
end
for i = 1, #stale, 500 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 499, #stale)))
end
local out = {}
for _, field in ipairs(order) do
  out[#out + 1] = field
  out[#out + 1] = totals[field]
end
return out
