-- stock.get: the rows of one sku, at every location it has or at the listed
-- ones. Read-only.
--
-- KEYS[1]    {ns}:stock:<sku>
-- ARGV[1..]  locations to report (none: every location the hash knows)
--
-- Reply: {0, location, on_hand, reserved, safety_stock, ...}, one group of
-- four per location, unordered (the caller sorts by name). A listed location
-- without stock reports zeros.
--
-- Invariant: read-only; changes nothing.
local reply = {0}
if #ARGV > 0 then
    local fields = {}
    for j, loc in ipairs(ARGV) do
        fields[3 * j - 2] = loc .. ':on_hand'
        fields[3 * j - 1] = loc .. ':reserved'
        fields[3 * j] = loc .. ':safety'
    end
    local v = redis.call('HMGET', KEYS[1], unpack(fields))
    for j, loc in ipairs(ARGV) do
        reply[#reply + 1] = loc
        reply[#reply + 1] = tonumber(v[3 * j - 2]) or 0
        reply[#reply + 1] = tonumber(v[3 * j - 1]) or 0
        reply[#reply + 1] = tonumber(v[3 * j]) or 0
    end
    return reply
end

local all = redis.call('HGETALL', KEYS[1])
local rows, order = {}, {}
for i = 1, #all, 2 do
    local loc, what = string.match(all[i], '^(.*):([a-z_]+)$')
    if loc then
        local row = rows[loc]
        if not row then
            row = {0, 0, 0}
            rows[loc] = row
            order[#order + 1] = loc
        end
        local v = tonumber(all[i + 1]) or 0
        if what == 'on_hand' then
            row[1] = v
        elseif what == 'reserved' then
            row[2] = v
        elseif what == 'safety' then
            row[3] = v
        end
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
