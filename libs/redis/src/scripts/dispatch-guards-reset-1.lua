--[[
dispatch-guards-reset: starts one dispatch partition's guards' windows afresh (a campaign is being resumed or its
failed recipients sent again): every recent_* counter of its stats hash (the shared window's and each provider's) is set
to 0 and its window generation (window_gen) moves on, at once. A batch reads the generation before it sends and hands
it to dispatch-record-7.lua: answers to sends made before this reset are then left out of the new windows. (The
campaign's guard generation, guard_gen in its own stats hash, moves on once every partition is reset: DispatchStore.)

KEYS[1]  the partition's stats hash ({campaign:<id>}:stats, or {dp<p>.<k>}:campaign:<id>:stats)

Returns the new window generation (window_gen; absent counts as 0).
]]
local stats = KEYS[1]
local BASES = { 'recent_total', 'recent_failed', 'recent_invalid' }
-- A window's counter: recent_total, recent_failed or recent_invalid, alone or with :<provider>.
local function isWindow(field)
  for _, base in ipairs(BASES) do
    if field == base or string.sub(field, 1, #base + 1) == base .. ':' then return true end
  end
  return false
end
local zeroes, n = {}, 0
for _, field in ipairs(redis.call('HKEYS', stats)) do
  if isWindow(field) then
    zeroes[n + 1], zeroes[n + 2] = field, 0
    n = n + 2
  end
end
-- The shared window's counters always exist afterwards (0), as readers expect.
redis.call('HSET', stats, 'recent_total', 0, 'recent_failed', 0, 'recent_invalid', 0)
if n > 0 then redis.call('HSET', stats, unpack(zeroes, 1, n)) end
return redis.call('HINCRBY', stats, 'window_gen', 1)
