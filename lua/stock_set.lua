-- stock.set: set the absolute on_hand (and optionally the safety stock) of one
-- (sku, location), e.g. after a cycle count.
--
-- KEYS[1]  {ns}:stock:<sku>   hash of <location>:on_hand|reserved|safety
-- KEYS[2]  {ns}:events        the ledger stream
-- ARGV[1]  location
-- ARGV[2]  on_hand, a whole number >= 0
-- ARGV[3]  safety_stock, or '' to keep the current one
-- ARGV[4]  sku (for the ledger)
-- ARGV[5]  ledger length cap
--
-- Reply: {0, on_hand, reserved, safety_stock}
--        {1003, 'below_reserved', reserved}   nothing written
--
-- Invariant: reserved <= on_hand at every location; live holds are never
-- left without the units they hold.
local loc = ARGV[1]
local f_on, f_res, f_saf = loc .. ':on_hand', loc .. ':reserved', loc .. ':safety'
local cur = redis.call('HMGET', KEYS[1], f_on, f_res, f_saf)
local before = tonumber(cur[1]) or 0
local reserved = tonumber(cur[2]) or 0
local safety = tonumber(cur[3]) or 0
local on_hand = tonumber(ARGV[2])

if on_hand < reserved then
    return {1003, 'below_reserved', reserved}
end

if ARGV[3] ~= '' then
    safety = tonumber(ARGV[3])
    redis.call('HSET', KEYS[1], f_on, ARGV[2], f_saf, ARGV[3])
else
    redis.call('HSET', KEYS[1], f_on, ARGV[2])
end
-- The movement is the change in on_hand (0 when only safety changed).
ledger(KEYS[2], ARGV[5], 'set', ARGV[4], loc, on_hand - before, '', '')
return {0, on_hand, reserved, safety}
