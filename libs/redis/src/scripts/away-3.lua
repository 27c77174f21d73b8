--[[
  A waiting holder went away (their socket closed without leaving): the ticket is no longer present, so the releaser
  does not hold a place for it; it keeps its place in line (the seen bits) for the grace period.

  Input:
    KEYS[1] present (current presence bucket)  KEYS[2] present (previous presence bucket)
    KEYS[3] line  the current line's start, epoch seconds (arrive-11+; missing: 0)
    ARGV[1] ticket number
    ARGV[2] the ticket's issuedAt, epoch seconds: a ticket of a lost line (issued before the line's start) changes
            nothing (its number is someone else's in this line)

  Output: 1
]]
--- @include "_room-common"

if not of_line(line_start(KEYS[3]), tonumber(ARGV[2])) then return 1 end
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('SETBIT', KEYS[i], tonumber(ARGV[1]), 0) end
end
return 1
