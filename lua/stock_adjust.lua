-- stock.adjust: change on_hand of one (sku, location) by a signed delta
-- (receiving, damage, returns).
--
-- KEYS[1]  {ns}:stock:<sku>   hash of <location>:on_hand|reserved|safety
-- KEYS[2]  {ns}:events        the ledger stream
-- ARGV[1]  location
-- ARGV[2]  delta, a non-zero whole number
-- ARGV[3]  the largest on_hand allowed
-- ARGV[4]  sku (for the ledger)
-- ARGV[5]  ledger length cap
-- ARGV[6]  reason ('' for none)
--
-- Reply: {0, on_hand, reserved, safety_stock}
--        {1001, requested, available}   the delta would take on_hand below
--                                       reserved; requested = -delta,
--                                       available = on_hand - reserved
--        {-32602}                       on_hand would pass ARGV[3]
--
-- Invariant: reserved <= on_hand <= ARGV[3] at every location.
local loc = ARGV[1]
local f_on, f_res, f_saf = loc .. ':on_hand', loc .. ':reserved', loc .. ':safety'
local cur = redis.call('HMGET', KEYS[1], f_on, f_res, f_saf)
local on_hand = tonumber(cur[1]) or 0
local reserved = tonumber(cur[2]) or 0
local safety = tonumber(cur[3]) or 0
local delta = tonumber(ARGV[2])
local new = on_hand + delta

if new < reserved then
    return {1001, -delta, on_hand - reserved}
end
if new > tonumber(ARGV[3]) then
    return {-32602}
end

redis.call('HSET', KEYS[1], f_on, int(new))
ledger(KEYS[2], ARGV[5], 'adjust', ARGV[4], loc, delta, '', ARGV[6])
return {0, new, reserved, safety}
