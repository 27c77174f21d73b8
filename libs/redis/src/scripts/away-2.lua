--[[
  A waiting holder went away (their socket closed without leaving): the ticket is no longer present, so the releaser
  does not hold a place for it; it keeps its place in line (the seen bits) for the grace period.

  Input:
    KEYS[1] present (current presence bucket)  KEYS[2] present (previous presence bucket)
    ARGV[1] ticket number

  Output: 1
]]
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('SETBIT', KEYS[i], tonumber(ARGV[1]), 0) end
end
return 1
