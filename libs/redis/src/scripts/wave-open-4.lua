--[[
wave-open: a visitor presented a genuine, unexpired wave ticket (checked by the gateway) at a room. Counts the
campaign's funnel once per device: opened, and queued / admitted as the gate decided for that same request.

KEYS[1]  room string ({campaign:<id>}:room): the room the campaign's visitors enter (written by the sender)
KEYS[2]  opened bitmap ({campaign:<id>}:opened): the device's ticket was counted
KEYS[3]  presenters hash ({campaign:<id>}:presenters): device id -> digest of the first presenter's X-Device-Id
KEYS[4]  funnel hash ({campaign:<id>}:funnel)
ARGV[1]  the room the request entered
ARGV[2]  the ticket's wave
ARGV[3]  the ticket's device id (< 2^32)
ARGV[4]  digest of the request's X-Device-Id ('' when it has none)
ARGV[5]  open-delay bucket (send -> tap)
ARGV[6]  what the gate did: 'queued' (a place in the line), 'admitted' (in at once), 'none' (neither: a session
         renewed, the room full or not ready)
ARGV[7]  time-in-queue bucket for 'admitted' (the bucket of 0 ms)

Funnel fields: opened, queued, admitted, replayed, w<wave>:opened|queued|admitted, od:<bucket> (open delays),
qt:<bucket> (time in queue).
Returns {'counted'} (first time for this device), {'seen'} (counted before: nothing new), {'replay'} (counted before
for another presenter: nothing but `replayed`), {'other_room'} (not this campaign's room: nothing).
]]
local roomKey, openedKey, presentersKey, funnel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local room, wave, device, presenter = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local outcome = ARGV[6]

if redis.call('GET', roomKey) ~= room then return {'other_room'} end

if redis.call('SETBIT', openedKey, tonumber(device), 1) == 1 then
  if presenter ~= '' then
    local first = redis.call('HGET', presentersKey, device)
    if first and first ~= '' and first ~= presenter then
      redis.call('HINCRBY', funnel, 'replayed', 1)
      return {'replay'}
    end
  end
  return {'seen'}
end

if presenter ~= '' then redis.call('HSET', presentersKey, device, presenter) end
local w = 'w' .. wave .. ':'
redis.call('HINCRBY', funnel, 'opened', 1)
redis.call('HINCRBY', funnel, w .. 'opened', 1)
redis.call('HINCRBY', funnel, 'od:' .. ARGV[5], 1)
if outcome == 'queued' or outcome == 'admitted' then
  redis.call('HINCRBY', funnel, 'queued', 1)
  redis.call('HINCRBY', funnel, w .. 'queued', 1)
end
if outcome == 'admitted' then
  redis.call('HINCRBY', funnel, 'admitted', 1)
  redis.call('HINCRBY', funnel, w .. 'admitted', 1)
  redis.call('HINCRBY', funnel, 'qt:' .. ARGV[7], 1)
end
return {'counted'}
