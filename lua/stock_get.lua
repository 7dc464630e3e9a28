-- stock.get: the rows of one sku, at every location it has or at the listed
-- ones. Read-only. Contract: include/stock.h.
--
-- K_STOCK    {ns}:stock:<sku>
-- ARGV[1..]  locations to report (none: every location the hash knows)
--
-- Reply: {ST_OK, location, on_hand, reserved, safety_stock,
-- backorder_limit, low_stock_threshold ('' for none), ...}, one group of
-- six per location, unordered (the caller sorts by name). A listed
-- location without stock reports zeros and no threshold.
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK}
if #ARGV > 0 then
    local fields = {}
    for j, loc in ipairs(ARGV) do
        local at = 5 * j - 5
        fields[at + 1], fields[at + 2], fields[at + 3] = stock_fields(loc)
        fields[at + 4], fields[at + 5] = backorder_fields(loc)
    end
    local v = redis.call('HMGET', K_STOCK, unpack(fields))
    for j, loc in ipairs(ARGV) do
        local at = 5 * j - 5
        reply[#reply + 1] = loc
        for x = 1, 4 do
            reply[#reply + 1] = tonumber(v[at + x]) or 0
        end
        reply[#reply + 1] = v[at + 5] or ''
    end
    return reply
end

-- Every field is <location>:<what> (stock_fields, backorder_fields; and
-- <location>:event, the id of its last stock-level event, stock_events,
-- which is no count and not shown); read them all.
local all = redis.call('HGETALL', K_STOCK)
local rows, order = {}, {}
local slot = {on_hand = 1, reserved = 2, safety = 3, backorder = 4, low_stock = 5}
for i = 1, #all, 2 do
    local loc, what = string.match(all[i], '^(.*):([a-z_]+)$')
    if loc and slot[what] then
        local row = rows[loc]
        if not row then
            row = {0, 0, 0, 0, ''}
            rows[loc] = row
            order[#order + 1] = loc
        end
        if what == 'low_stock' then
            row[5] = all[i + 1]
        else
            row[slot[what]] = tonumber(all[i + 1]) or 0
        end
    end
end
for _, loc in ipairs(order) do
    local row = rows[loc]
    reply[#reply + 1] = loc
    for x = 1, 5 do
        reply[#reply + 1] = row[x]
    end
end
return reply
