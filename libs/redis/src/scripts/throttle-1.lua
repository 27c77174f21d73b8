--[[
  Counts one request of one client against a fixed-window rate limit, with an optional block after the limit is
  exceeded. One atomic call per request; one key per client (the key builder puts the client in a hash tag, so the
  script is Cluster-safe).

  Algorithm: fixed window. The first request creates the counter with a TTL of one window (INCR + PEXPIRE); every
  request increments it; the window ends when the key expires. Memory is one small string per active client.
  Known trade-off: a client may send `limit` requests at the very end of one window and `limit` more at the start
  of the next, i.e. up to 2x `limit` within one window's length across the boundary. Acceptable here: this
  throttle stops abusive clients, the waiting room behind it is what protects the origin.

  Block: when the request that first exceeds the limit arrives (hits == limit + 1) and `blockMs` is longer than
  what remains of the window, the key's TTL is extended to `blockMs` from now. Until the key expires every request
  is refused (the count stays above the limit); retries do not extend the block. When it expires, the next request
  starts a new window. With `blockMs` = 0, a client over the limit is refused until the window ends.

    Input:
      KEYS[1] counter key of the client, e.g. <prefix>:throttle:<name>:{<client>}

      ARGV[1] window length in ms (integer > 0)
      ARGV[2] limit: requests allowed per window (integer > 0)
      ARGV[3] block duration in ms after the limit is exceeded (integer >= 0; 0 = refused until the window ends)

    Output:
      {hits, ttlMs, blocked, blockTtlMs}
        hits        requests counted in the current window, this one included (refused ones too)
        ttlMs       ms until the counter resets (end of the window, or of the block)
        blocked     1 if this request must be refused, else 0
        blockTtlMs  ms until requests are allowed again when blocked (= ttlMs), else 0
]]
local key = KEYS[1]
local windowMs = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockMs = tonumber(ARGV[3])

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

if hits <= limit then
  return {hits, ttl, 0, 0}
end

if hits == limit + 1 and blockMs > ttl then
  redis.call('PEXPIRE', key, blockMs)
  ttl = blockMs
end
return {hits, ttl, 1, ttl}
