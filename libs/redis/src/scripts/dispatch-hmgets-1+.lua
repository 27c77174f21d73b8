-- The merged progress view's reads in one call (dispatch-store.ts, standalone servers only: the hashes of one campaign
-- sit in several Cluster slots): an HMGET of each key, in order, as the separate commands would answer them.
--
-- KEYS: the hashes (one or more).
-- ARGV: for each key in turn, its number of fields (1 or more), then those fields.
-- Returns: one array per key, the values of its fields in order (nil where a field or the key is missing).
local out = {}
local a = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  out[i] = redis.call('HMGET', KEYS[i], unpack(ARGV, a + 1, a + n))
  a = a + n + 1
end
return out
