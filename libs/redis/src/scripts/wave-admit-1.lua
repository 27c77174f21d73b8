--[[
wave-admit: a visitor a wave ticket attributed to this campaign, who got a place in the line, was admitted. The
gateway read and deleted the room's wave-visitor key first (GETDEL), so each ticket holder counts once.

KEYS[1]  funnel hash ({campaign:<id>}:funnel)
ARGV[1]  the wave the visitor was attributed to
ARGV[2]  time-in-queue bucket

Counts admitted, w<wave>:admitted and qt:<bucket>. Returns the campaign's admitted total.
]]
redis.call('HINCRBY', KEYS[1], 'w' .. ARGV[1] .. ':admitted', 1)
redis.call('HINCRBY', KEYS[1], 'qt:' .. ARGV[2], 1)
return redis.call('HINCRBY', KEYS[1], 'admitted', 1)
