-- stock.get: the rows of one sku, at every location it has or at the listed
-- ones. Read-only. Contract: include/stock.h.
--
-- K_STOCK    {ns}:stock:<sku>
-- ARGV[1..]  locations to report (none: every location the hash knows)
--
-- Reply: {ST_OK, location, on_hand, reserved, safety_stock, ...}, one group
-- of four per location, unordered (the caller sorts by name). A listed
-- location without stock reports zeros.
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK}
if #ARGV > 0 then
    local fields = {}
    for j, loc in ipairs(ARGV) do
        fields[3 * j - 2], fields[3 * j - 1], fields[3 * j] = stock_fields(loc)
    end
    local v = redis.call('HMGET', K_STOCK, unpack(fields))
    for j, loc in ipairs(ARGV) do
        reply[#reply + 1] = loc
        reply[#reply + 1] = tonumber(v[3 * j - 2]) or 0
        reply[#reply + 1] = tonumber(v[3 * j - 1]) or 0
        reply[#reply + 1] = tonumber(v[3 * j]) or 0
    end
    return reply
end

-- Every field is <location>:<what> (stock_fields); read them all.
local all = redis.call('HGETALL', K_STOCK)
local rows, order = {}, {}
local slot = {on_hand = 1, reserved = 2, safety = 3}
for i = 1, #all, 2 do
    local loc, what = string.match(all[i], '^(.*):([a-z_]+)$')
    if loc and slot[what] then
        local row = rows[loc]
        if not row then
            row = {0, 0, 0}
            rows[loc] = row
            order[#order + 1] = loc
        end
        row[slot[what]] = tonumber(all[i + 1]) or 0
    end
end
for _, loc in ipairs(order) do
    local row = rows[loc]
    reply[#reply + 1] = loc
    reply[#reply + 1] = row[1]
    reply[#reply + 1] = row[2]
    reply[#reply + 1] = row[3]
end
return reply
