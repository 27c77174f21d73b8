--[[
dispatch-plan: records that wave `wave` of a campaign was materialised with `size` recipients. Idempotent: a planner
that crashed and runs again for the same wave changes nothing the second time.

KEYS[1]  the campaign's stats hash ({campaign:<id>}:stats)
ARGV[1]  wave number (1-based)
ARGV[2]  recipients in the wave (0 or more)
ARGV[3]  1 when this is the campaign's last wave, else 0
ARGV[4]  now (ms since the epoch): w<wave>:finished_at when the wave is finished already (empty, or every batch
         recorded before this count)

Writes w<wave>:targeted (once), adds it to `targeted`, raises `waves` to at least `wave`, sets `last_wave` when last,
and progress_at (now: the re-drive watchdog's sign of life).
Returns { settled, targeted, last_wave (0 if none yet) } after the update.
]]
local stats = KEYS[1]
local wave = ARGV[1]
local size = tonumber(ARGV[2])
if redis.call('HSETNX', stats, 'w' .. wave .. ':targeted', size) == 1 then
  redis.call('HINCRBY', stats, 'targeted', size)
end
local waves = tonumber(redis.call('HGET', stats, 'waves') or '0')
if tonumber(wave) > waves then redis.call('HSET', stats, 'waves', wave) end
if ARGV[3] == '1' then redis.call('HSET', stats, 'last_wave', wave) end
redis.call('HSET', stats, 'progress_at', ARGV[4])
-- Finished already (an empty wave, or its batches all recorded before this count): no later record would say so.
local progress = redis.call('HMGET', stats, 'w' .. wave .. ':settled', 'w' .. wave .. ':holding')
if tonumber(progress[1] or '0') + tonumber(progress[2] or '0') >= size then
  redis.call('HSETNX', stats, 'w' .. wave .. ':finished_at', ARGV[4])
end
return {
  tonumber(redis.call('HGET', stats, 'settled') or '0'),
  tonumber(redis.call('HGET', stats, 'targeted') or '0'),
  tonumber(redis.call('HGET', stats, 'last_wave') or '0'),
}
