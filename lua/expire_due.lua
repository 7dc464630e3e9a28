-- expire_due: the held reservations whose deadline has passed, oldest
-- first, at most A_LIMIT of them: the first step of a sweep, which then
-- releases them through a transition (reservation_plan, then expire).
-- Contract: include/sweeper.h.
--
-- K_EXPIRY      {ns}:expiry       ids of holds made before the due index
-- K_DUE         {ns}:due          skus with holds, each scored no later
--                                 than its earliest deadline
-- K_QUARANTINE  {ns}:quarantine   ids moved aside (id -> why)
-- A_LIMIT       the most ids to return
-- A_HOLDS       "{ns}:holds:", the start of a sku's holds index key
-- A_RES         "{ns}:res:", the start of a reservation's key
--
-- Reply: {ST_OK, gone, id, ...}: gone counts the ids this call moved aside
--        because their record is gone
--
-- Due holds are found through the due index: for each sku whose score has
-- passed, the due members of its holds index (hold_member) name the
-- reservations. A sku where nothing is due that a sweep can finish (all
-- given back, committed or released since, or moved aside) gets its next
-- deadline as its score, or leaves the index when it holds nothing. A due
-- member whose reservation record is gone cannot be given back by anyone:
-- its id is moved aside to {ns}:quarantine for an operator (its units stay
-- reserved, and stock.audit shows them), like an unreadable record
-- (expire.lua); ids moved aside are passed over.
--
-- Invariant: writes only the due index and the quarantine hash; stock,
-- records and holds indexes are unchanged. Each sku's score stays no later
-- than its earliest hold that is not moved aside (looking at its first 100
-- members; past them, a minute later at most).
local now = now_ms()
local limit = tonumber(A_LIMIT)
local reply, seen = {ST_OK, 0}, {}

local function add(id)
    if not seen[id] then
        seen[id] = true
        reply[#reply + 1] = id
    end
end

-- Holds made before the due index are in the expiry index by id.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', now, 'LIMIT', 0, limit)) do
    add(id)
end

local function aside(id)
    return redis.call('HEXISTS', K_QUARANTINE, id) == 1
end

-- Moves sku's score to its first hold not moved aside, or drops it.
local function rescore(sku, holds)
    local first = redis.call('ZRANGE', holds, 0, 99, 'WITHSCORES')
    for i = 1, #first, 2 do
        local id = hold_parts(first[i])
        if id and not aside(id) then
            redis.call('ZADD', K_DUE, first[i + 1], sku)
            return
        end
    end
    if #first == 0 then
        redis.call('ZREM', K_DUE, sku)
    else
        redis.call('ZADD', K_DUE, math.max(tonumber(first[#first]) + 1, now + 60000), sku)
    end
end

local skus = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', now, 'LIMIT', 0, limit)
for _, sku in ipairs(skus) do
    if #reply - 2 >= limit then
        break
    end
    local holds = A_HOLDS .. sku
    local live = 0
    local room = limit - (#reply - 2)
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, room)) do
        local id = hold_parts(member)
        if not id then
            redis.call('HSET', K_QUARANTINE, holds .. ' ' .. member, 'not a hold member')
        elseif not aside(id) then
            if redis.call('EXISTS', A_RES .. id) == 0 then
                redis.call('HSET', K_QUARANTINE, id, 'the record is gone; its holds on ' .. sku ..
                               ' stay reserved')
                reply[2] = reply[2] + 1
            else
                add(id)
                live = live + 1
            end
        end
    end
    if live == 0 then
        rescore(sku, holds)
    end
end
return reply
