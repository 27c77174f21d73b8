-- Counting one request of one client against its throttle window, in the same call as what the request asks for (so
-- the gateway needs one round trip per request). One algorithm for every caller: throttle-1.lua (the Nest routes'
-- storage) and the admission scripts that count the request first (arrive-11+, status-11, touch-3).
--
-- Fixed window: the first request creates the counter with a TTL of one window (INCR + PEXPIRE); every request
-- increments it; the window ends when the key expires. A client may send `limit` requests at the very end of one window
-- and `limit` more at the start of the next (up to 2x `limit` within one window's length): acceptable, this throttle
-- stops abusive clients and the waiting room behind it is what protects the origin.
-- Block: when the request that first exceeds the limit arrives (hits == limit + 1) and `blockMs` is longer than what
-- remains of the window, the key's TTL is extended to `blockMs` from now; retries do not extend it.

-- Returns hits (this request included), ms until the counter resets, and 1 if this request must be refused (else 0).
-- A limit of 0 counts nothing and leaves the key alone: 0, 0, 0.
local function count_client(key, windowMs, limit, blockMs)
  if limit <= 0 then return 0, 0, 0 end
  local hits = redis.call('INCR', key)
  local ttl
  if hits == 1 then
    redis.call('PEXPIRE', key, windowMs)
    ttl = windowMs
  else
    ttl = redis.call('PTTL', key)
    if ttl < 0 then
      -- A counter without an expiry would throttle this client forever: start the window again.
      redis.call('PEXPIRE', key, windowMs)
      ttl = windowMs
    end
  end
  if hits <= limit then return hits, ttl, 0 end
  if hits == limit + 1 and blockMs > ttl then
    redis.call('PEXPIRE', key, blockMs)
    ttl = blockMs
  end
  return hits, ttl, 1
end

-- Counts the request (key, ARGV[first .. first+2] = window ms, limit, block ms), then, unless it is refused, runs
-- `decide` and answers {hits, resetMs, 0, <decide's reply...>}; refused: {hits, resetMs, 1}. decide's reply may be a
-- table or a single value.
local function counted(key, first, decide)
  local hits, ttl, blocked = count_client(key, tonumber(ARGV[first]), tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2]))
  if blocked == 1 then return {hits, ttl, 1} end
  local reply = decide()
  if type(reply) ~= 'table' then reply = {reply} end
  table.insert(reply, 1, 0)
  table.insert(reply, 1, ttl)
  table.insert(reply, 1, hits)
  return reply
end
