-- stock.set: set the absolute on_hand (and optionally the safety stock) of one
-- (sku, location), e.g. after a cycle count. Contract: include/stock.h.
--
-- K_STOCK      {ns}:stock:<sku>   hash of <location>:on_hand|reserved|safety
-- K_EVENTS     {ns}:events        the ledger stream
-- A_LOCATION   location
-- A_ON_HAND    on_hand, a whole number >= 0
-- A_SAFETY     safety_stock, or '' to keep the current one
-- A_SKU        sku (for the ledger)
-- A_MAXLEN     ledger length cap
--
-- Reply: {ST_OK, on_hand, reserved, safety_stock}
--        {ST_BELOW_RESERVED, reserved}   nothing written
--
-- Invariant: reserved <= on_hand at every location; live holds are never
-- left without the units they hold.
local f_on, f_res, f_saf = stock_fields(A_LOCATION)
local cur = redis.call('HMGET', K_STOCK, f_on, f_res, f_saf)
local before = tonumber(cur[1]) or 0
local reserved = tonumber(cur[2]) or 0
local safety = tonumber(cur[3]) or 0
local on_hand = tonumber(A_ON_HAND)

if on_hand < reserved then
    return {ST_BELOW_RESERVED, reserved}
end

if A_SAFETY ~= '' then
    safety = tonumber(A_SAFETY)
    redis.call('HSET', K_STOCK, f_on, A_ON_HAND, f_saf, A_SAFETY)
else
    redis.call('HSET', K_STOCK, f_on, A_ON_HAND)
end
-- The movement is the change in on_hand (0 when only safety changed).
ledger(K_EVENTS, A_MAXLEN, 'set', A_SKU, A_LOCATION, on_hand - before, '', '')
return {ST_OK, on_hand, reserved, safety}
