-- Shared by the room scripts (prepended by the loader; see scripts.ts). Not a script of its own.
--
-- Gone tickets counted per block of 4096 ticket numbers, in a Fenwick tree (binary indexed tree) kept in one string:
-- node i is the u32 at BITFIELD offset #i. With it, the gone tickets between two ticket numbers cost two BITCOUNTs
-- inside their own blocks (at most 512 bytes each), a STRLEN and one BITFIELD_RO of at most 2 x log2(blocks) GETs
-- (2 x 20 at most), whatever the length of the line; leaving costs one BITFIELD of at most 20 INCRBYs.
--
-- The tree is indexed from the far end: block b is position r = M - b (M = 2^20 blocks cover 2^32 ticket numbers, all
-- a Redis bitmap can hold), and node i = M - r covers blocks i .. i + lowbit(r) - 1. An update walks r upwards, i.e.
-- towards block 0 (nodes that exist); a query walks r downwards, towards blocks beyond the last ticket, whose nodes
-- nobody ever wrote (read as 0). So the tree never has to grow when tickets are issued: the string holds 4 bytes per
-- block up to the highest block anyone left from. Invariant: every set bit of the gone bitmap is counted here once;
-- the two keys are written together (leave) and deleted together (release, when the line is empty).
local GONE_BLOCK = 4096
local GONE_TREE = 1048576

local function gone_block(ticket)
  return math.floor(ticket / GONE_BLOCK)
end

-- One more gone ticket, in the block of `ticket`.
local function gone_blocks_add(key, ticket)
  local args = {}
  local r = GONE_TREE - gone_block(ticket)
  while r <= GONE_TREE do
    args[#args + 1] = 'INCRBY'
    args[#args + 1] = 'u32'
    args[#args + 1] = '#' .. (GONE_TREE - r)
    args[#args + 1] = 1
    r = r + bit.band(r, -r)
  end
  redis.call('BITFIELD', key, unpack(args))
end

-- BITFIELD_RO GETs of the nodes that sum to the gone tickets in blocks b and above; appended to args, returns how many.
-- `nodes`: how many the string holds. The walk goes to ever higher nodes, and a node past the string was never
-- written (it reads as 0): the walk stops there, so a query reads about log2(nodes) of them, not 20.
local function suffix_gets(args, b, nodes)
  local n = 0
  local r = GONE_TREE - b
  while r > 0 and GONE_TREE - r < nodes do
    args[#args + 1] = 'GET'
    args[#args + 1] = 'u32'
    args[#args + 1] = '#' .. (GONE_TREE - r)
    n = n + 1
    r = r - bit.band(r, -r)
  end
  return n
end

-- Gone tickets among ticket numbers lo .. hi (inclusive; none when hi < lo): exact, in time independent of hi - lo.
local function gone_between(gone, blocks, lo, hi)
  if hi < lo then return 0 end
  local first, last = gone_block(lo), gone_block(hi)
  if first == last then return redis.call('BITCOUNT', gone, lo, hi, 'BIT') end
  local n = redis.call('BITCOUNT', gone, lo, (first + 1) * GONE_BLOCK - 1, 'BIT')
    + redis.call('BITCOUNT', gone, last * GONE_BLOCK, hi, 'BIT')
  if last - first > 1 then
    -- Whole blocks first + 1 .. last - 1: suffix(first + 1) - suffix(last), in one call.
    local args = {}
    local nodes = math.floor(redis.call('STRLEN', blocks) / 4)
    local a = suffix_gets(args, first + 1, nodes)
    suffix_gets(args, last, nodes)
    if #args == 0 then return n end
    local v = redis.call('BITFIELD_RO', blocks, unpack(args))
    for i = 1, #v do
      if i <= a then n = n + v[i] else n = n - v[i] end
    end
  end
  return n
end
