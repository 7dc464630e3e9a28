-- webhook_dead: one entry given up (older than --webhook-max-age-s, or
-- malformed) moves to the dead-letter stream, leaves the group's pending
-- list and moves its chain's cursor, in one step. Contract:
-- include/webhook.h.
--
-- K_STREAM     {ns}:stock-events
-- K_DEAD       {ns}:stock-events:dead
-- K_CURSOR     {ns}:stock-events:cursor:<group>
-- A_GROUP      the URL's consumer group
-- A_MAXLEN     about how many entries the dead-letter stream keeps
-- A_ID         the entry's id
-- A_CHAIN      "<sku>\t<location>", or '' (a malformed entry)
-- A_URL        the URL it was for
-- A_ATTEMPTS   POSTs made by the replica giving up
-- A_ERROR      the last failure
-- ARGV[A_FIXED + 1..]: the entry's fields and values, as read
--
-- Reply: {ST_OK, dead id} when moved; {ST_GONE} when the entry is pending
-- in the group no more (delivered or given up elsewhere): nothing done.
--
-- Invariant: an entry reaches the dead-letter stream at most once per
-- group, and only while pending; checks come before the first write.
for _, key in ipairs({K_DEAD, K_CURSOR}) do
    local t = redis.call('TYPE', key).ok
    local want = key == K_DEAD and 'stream' or 'hash'
    if t ~= 'none' and t ~= want then
        return redis.error_reply(key .. ' is a ' .. t .. ', not a ' .. want)
    end
end
local p = redis.pcall('XPENDING', K_STREAM, A_GROUP, A_ID, A_ID, 1)
if type(p) ~= 'table' or p.err or #p == 0 then
    return {ST_GONE}
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

local entry = {'XADD', K_DEAD, 'MAXLEN', '~', A_MAXLEN, '*'}
for i = A_FIXED + 1, #ARGV do
    entry[#entry + 1] = ARGV[i]
end
for _, kv in ipairs({{'id', A_ID}, {'url', A_URL}, {'attempts', A_ATTEMPTS},
                     {'last_error', A_ERROR}}) do
    entry[#entry + 1] = kv[1]
    entry[#entry + 1] = kv[2]
end
local dead = redis.call(unpack(entry))
redis.call('XACK', K_STREAM, A_GROUP, A_ID)
if A_CHAIN ~= '' then
    local cursor = redis.call('HGET', K_CURSOR, A_CHAIN)
    if not cursor or not id_at_least(cursor, A_ID) then
        redis.call('HSET', K_CURSOR, A_CHAIN, A_ID)
    end
end
return {ST_OK, dead}
