-- stock.set: a count of the units physically at one (sku, location), e.g.
-- after a cycle count; optionally its safety stock, backorder limit and
-- low-stock threshold. Contract: include/stock.h.
--
-- K_STOCK      {ns}:stock:<sku>   hash of <location>:on_hand|reserved|safety
--                                 |backorder|low_stock|event
-- K_EVENTS     {ns}:events        the ledger stream
-- K_STOCK_EVENTS  {ns}:stock-events  the stock-level events (stock_events)
-- A_LOCATION   location
-- A_ON_HAND    the count, a whole number >= 0
-- A_SAFETY     safety_stock, or '' to keep the current one
-- A_SKU        sku (for the ledger)
-- A_MAXLEN     ledger length cap (the stock events' too)
-- A_BACKORDER  backorder_limit, or '' to keep the current one
-- A_LOW_STOCK  low_stock_threshold, 'none' to clear it, or '' to keep it
--
-- Reply: {ST_OK, on_hand, reserved, safety_stock, backorder_limit,
--         low_stock_threshold ('' for none)}
--        {ST_BELOW_RESERVED, reserved}   nothing written
--
-- Units owed to customers (a negative on_hand: backordered units sold) are
-- paid from the count first: on_hand = count - owed.
--
-- Stock levels: when available (row_available; the safety stock counts)
-- goes through the threshold, as this call leaves it, or through 0, the
-- entries of stock_events are appended, cause 'set'. A call that changes
-- only the threshold appends nothing: available did not change.
--
-- Invariant: on_hand - reserved >= -backorder_limit at every location (so
-- reserved <= on_hand without backorders); live holds are never left
-- without the units, or the backorder capacity, they hold.
local f_on, f_res, f_saf = stock_fields(A_LOCATION)
local f_bo, f_low = backorder_fields(A_LOCATION)
local cur = redis.call('HMGET', K_STOCK, f_on, f_res, f_saf, f_bo, f_low)
local before = tonumber(cur[1]) or 0
local reserved = tonumber(cur[2]) or 0
local safety = tonumber(cur[3]) or 0
local limit = tonumber(cur[4]) or 0
local low = cur[5] or ''
local owed = before < 0 and -before or 0
local on_hand = tonumber(A_ON_HAND) - owed
if A_BACKORDER ~= '' then
    limit = tonumber(A_BACKORDER)
end

if on_hand - reserved < -limit then
    return {ST_BELOW_RESERVED, reserved}
end

local was = row_available(before, reserved, safety)
if A_SAFETY ~= '' then
    safety = tonumber(A_SAFETY)
end
if A_LOW_STOCK == 'none' then
    low = ''
elseif A_LOW_STOCK ~= '' then
    low = A_LOW_STOCK
end
local now_available = row_available(on_hand, reserved, safety)
local threshold = low_threshold(low)
local crossed = level_crossed(was, now_available, threshold)
if crossed then
    check_stream(K_STOCK_EVENTS)
end

local set = {f_on, int(on_hand)}
if A_SAFETY ~= '' then
    set[#set + 1], set[#set + 2] = f_saf, A_SAFETY
end
if A_BACKORDER ~= '' then
    set[#set + 1], set[#set + 2] = f_bo, A_BACKORDER
end
if A_LOW_STOCK == 'none' then
    redis.call('HDEL', K_STOCK, f_low)
elseif A_LOW_STOCK ~= '' then
    set[#set + 1], set[#set + 2] = f_low, A_LOW_STOCK
end
redis.call('HSET', K_STOCK, unpack(set))
-- The movement is the change in on_hand (0 when only the settings changed).
ledger(K_EVENTS, A_MAXLEN, 'set', A_SKU, A_LOCATION, on_hand - before, '', '')
if crossed then
    stock_events(K_STOCK_EVENTS, A_MAXLEN, K_STOCK, A_SKU, A_LOCATION, was, now_available,
                 threshold, 'set', '')
end
return {ST_OK, on_hand, reserved, safety, limit, low}
