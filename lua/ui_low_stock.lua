-- ui.low_stock: the locations low on stock now, for the status page.
-- Read-only. Contract: include/ui_data.h.
--
-- K_STOCK_EVENTS  {ns}:stock-events   the stock-level events (stock_events)
-- A_STOCK         "{ns}:stock:", the start of a sku's stock hash key
-- A_SCAN          the most entries read, newest first
--
-- Reply: {ST_OK, scanned, sku, location, available, threshold, on_hand,
-- reserved, ...}: scanned the entries read; then six per row, in no order.
-- The rows are the distinct (sku, location) pairs of the entries read,
-- with their counts as the stock hash holds them now (row_available;
-- threshold '' for none), kept when available is at or below the
-- threshold or at or below 0. A pair whose stock hash has no on_hand for
-- it any more is left out. The caller orders the rows and keeps as many as
-- it shows: Lua compares strings by the server's locale (Redis sets
-- LC_COLLATE from its environment), and a bytewise comparison written in
-- Lua would cost more than the rest of the script.
--
-- Invariant: read-only; changes nothing. At most A_SCAN entries, one HMGET
-- per distinct pair, and A_SCAN rows: bounded whatever the size of the
-- stream.
local entries = redis.call('XREVRANGE', K_STOCK_EVENTS, '+', '-', 'COUNT', A_SCAN)
local seen, reply = {}, {ST_OK, #entries}
for _, e in ipairs(entries) do
    local fv = e[2]
    local sku, loc
    -- stock_events writes type, sku, location first; look further only
    -- for an entry written otherwise.
    if fv[3] == 'sku' and fv[5] == 'location' then
        sku, loc = fv[4], fv[6]
    else
        for i = 1, #fv, 2 do
            if fv[i] == 'sku' then
                sku = fv[i + 1]
            elseif fv[i] == 'location' then
                loc = fv[i + 1]
            end
        end
    end
    local pair = sku and loc and sku .. '\0' .. loc
    if pair and not seen[pair] then
        seen[pair] = true
        local f_on, f_res, f_saf = stock_fields(loc)
        local _, f_low = backorder_fields(loc)
        local v = redis.call('HMGET', A_STOCK .. sku, f_on, f_res, f_saf, f_low)
        local on = tonumber(v[1])
        if on then
            local res = tonumber(v[2]) or 0
            local avail = row_available(on, res, tonumber(v[3]) or 0)
            local low = low_threshold(v[4])
            if avail <= 0 or (low ~= nil and avail <= low) then
                local n = #reply
                reply[n + 1], reply[n + 2], reply[n + 3] = sku, loc, avail
                reply[n + 4], reply[n + 5], reply[n + 6] = low or '', on, res
            end
        end
    end
end
return reply
