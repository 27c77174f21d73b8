--[[
  Counts one request of one client against a fixed-window rate limit, with an optional block after the limit is
  exceeded (the algorithm and its trade-off: _client-window.lua). One atomic call per request; one key per client (the
  key builder puts the client in a hash tag, so the script is Cluster-safe). The gateway's protected paths and its room
  routes count in the room's own counter instead, inside the admission script (arrive-11+, status-11, touch-3).

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
--- @include "_client-window"

local hits, ttl, blocked = count_client(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return {hits, ttl, blocked, blocked == 1 and ttl or 0}
