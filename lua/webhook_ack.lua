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
-- Invariant: a chain's cursor never moves back (cursor_advance,
-- lua/lib/common.lua); an entry is acknowledged at most once (XACK of one
-- no longer pending does nothing).
local err = wrong_type(K_CURSOR, 'hash')
if err then
    return err
end

local acked = 0
for i = A_FIXED + 1, #ARGV - 1, 2 do
    local id, chain = ARGV[i], ARGV[i + 1]
    local r = redis.pcall('XACK', K_STREAM, A_GROUP, id)
    if type(r) == 'number' then
        acked = acked + r
    end
    cursor_advance(K_CURSOR, chain, id)
end
return {ST_OK, acked}
