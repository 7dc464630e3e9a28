-- stock.adjust: change on_hand of one (sku, location) by a signed delta
-- (receiving, damage, returns). Contract: include/stock.h.
--
-- K_STOCK      {ns}:stock:<sku>   hash of <location>:on_hand|reserved|safety
--                                 |backorder|low_stock|event
-- K_EVENTS     {ns}:events        the ledger stream
-- K_STOCK_EVENTS  {ns}:stock-events  the stock-level events (stock_events)
-- A_LOCATION   location
-- A_DELTA      delta, a non-zero whole number
-- A_MAX        the largest on_hand allowed
-- A_SKU        sku (for the ledger)
-- A_MAXLEN     ledger length cap (the stock events' too)
-- A_REASON     reason ('' for none)
--
-- Reply: {ST_OK, on_hand, reserved, safety_stock, backorder_limit,
--         low_stock_threshold ('' for none)}
--        {ST_SHORT, requested, available}   the delta would take on_hand
--                                           below reserved - backorder
--                                           limit; requested = -delta,
--                                           available = on_hand - reserved
--                                           + backorder limit
--        {ST_TOO_LARGE}                     an increase would take on_hand past A_MAX
--
-- Goods received (a positive delta) pay what is owed first: a negative
-- on_hand goes up toward zero.
--
-- Stock levels: when available (row_available) goes through the threshold
-- or through 0, the entries of stock_events are appended, cause 'adjust'.
--
-- Invariant: on_hand - reserved >= -backorder_limit at every location; no
-- adjust takes on_hand up past A_MAX (a restock may leave it above; a
-- decrease is then allowed).
local f_on, f_res, f_saf = stock_fields(A_LOCATION)
local f_bo, f_low = backorder_fields(A_LOCATION)
local cur = redis.call('HMGET', K_STOCK, f_on, f_res, f_saf, f_bo, f_low)
local on_hand = tonumber(cur[1]) or 0
local reserved = tonumber(cur[2]) or 0
local safety = tonumber(cur[3]) or 0
local limit = tonumber(cur[4]) or 0
local delta = tonumber(A_DELTA)
local new = on_hand + delta

if delta < 0 and new - reserved < -limit then
    return {ST_SHORT, -delta, on_hand - reserved + limit}
end
-- Only a change that takes on_hand up past the largest count is refused:
-- one toward the range (on_hand may be above it after a restock) is not.
if delta > 0 and new > tonumber(A_MAX) then
    return {ST_TOO_LARGE}
end

local was = row_available(on_hand, reserved, safety)
local now_available = row_available(new, reserved, safety)
local threshold = low_threshold(cur[5])
local crossed = level_crossed(was, now_available, threshold)
if crossed then
    check_stream(K_STOCK_EVENTS)
end

redis.call('HSET', K_STOCK, f_on, int(new))
ledger(K_EVENTS, A_MAXLEN, 'adjust', A_SKU, A_LOCATION, delta, '', A_REASON)
if crossed then
    stock_events(K_STOCK_EVENTS, A_MAXLEN, K_STOCK, A_SKU, A_LOCATION, was, now_available,
                 threshold, 'adjust', '')
end
return {ST_OK, new, reserved, safety, limit, cur[5] or ''}
