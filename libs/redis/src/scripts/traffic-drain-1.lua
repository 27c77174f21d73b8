--[[
  Takes a room's traffic counts out of Redis to be added to PostgreSQL (room_traffic), atomically: what is returned is
  removed, so two gateways flushing at once never add the same counts twice. If the PostgreSQL write then fails, the
  caller puts the counts back with traffic-sample-1 style increments (see RoomTrafficStore.restore).

  Input:
    KEYS[1]  traffic    hash: "<hour>:a", "<hour>:s", "<hour>:n", last_sample (kept)

  Output:
    flat list: field, count, field, count, … (every "<hour>:<a|s|n>" field)
]]
local all = redis.call('HGETALL', KEYS[1])
local out = {}
local fields = {}
for i = 1, #all, 2 do
  if all[i] ~= 'last_sample' then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
    fields[#fields + 1] = all[i]
  end
end
for i = 1, #fields, 500 do
  redis.call('HDEL', KEYS[1], unpack(fields, i, math.min(i + 499, #fields)))
end
return out
