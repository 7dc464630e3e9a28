-- webhook_ack: entries delivered (answered 2xx): each leaves the group's
-- pending list and moves its chain's cursor up to it, in one step, so that
-- the next entry of its (sku, location) may go. Contract: include/webhook.h.
--
-- K_STREAM   {ns}:stock-events
-- K_CURSOR   {ns}:stock-events:cursor:<group>   "<sku>\t<location>" -> the
--            id of the last entry of that chain delivered or given up
-- A_GROUP    the URL's consumer group
-- ARGV[A_FIXED + 2i - 1], ARGV[A_FIXED + 2i]: id i and its chain
--            ("<sku>\t<location>"; '' for an entry without one)
--
-- Reply: {ST_OK, acked}: how many of the ids were still pending.
--
-- Invariant: a chain's cursor never moves back; an entry is acknowledged
-- at most once (XACK of one no longer pending does nothing).
local t = redis.call('TYPE', K_CURSOR).ok
if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply(K_CURSOR .. ' is a ' .. t .. ', not a hash')
end

local function id_parts(id)
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    return tonumber(ms), tonumber(seq)
end

local function id_at_least(a, b)
    local am, as = id_parts(a)
    local bm, bs = id_parts(b)
    if not am or not bm then
        return false
    end
    return am > bm or (am == bm and as >= bs)
end

local acked = 0
for i = A_FIXED + 1, #ARGV - 1, 2 do
    local id, chain = ARGV[i], ARGV[i + 1]
    local r = redis.pcall('XACK', K_STREAM, A_GROUP, id)
    if type(r) == 'number' then
        acked = acked + r
    end
    if chain ~= '' then
        local cursor = redis.call('HGET', K_CURSOR, chain)
        if not cursor or not id_at_least(cursor, id) then
            redis.call('HSET', K_CURSOR, chain, id)
        end
    end
end
return {ST_OK, acked}
