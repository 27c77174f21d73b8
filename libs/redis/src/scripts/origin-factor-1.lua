--[[
  Sets the admission-rate factor in effect for a room (origin_factor in its hot copy: 1 while its origin is healthy,
  its unhealthy_admission_factor while not), only while the hot copy holds the room's settings: a room deleted
  meanwhile is not brought back as a hash holding nothing but the factor.

  Input:
    KEYS[1]  config     the room's hot copy (hash; fields in room-config.ts)

    ARGV[1]  the factor (0..1)

  Output:
    1 if written, 0 if the room has no hot copy
]]
if redis.call('HEXISTS', KEYS[1], 'total_active_users') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'origin_factor', ARGV[1])
return 1
