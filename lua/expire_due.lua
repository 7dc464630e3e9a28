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
-- ARGV[A_FIXED + 1], optional: '1' asks for `next` (below)
--
-- Reply: {ST_OK, gone, id, ...}: gone counts the ids this call moved aside
--        because their record is gone; when `next` was asked for, one
--        integer ends the reply: the ms from now to the earliest score
--        left in the due and expiry indexes after this call (0: something
--        is due now), or -1 when both are empty. A sweeper that looks at
--        one namespace among many sleeps on it until then.
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
-- The holds indexes and records are found from the ARGV prefixes, so they
-- are read first and every write waits until all reads are done: on a
-- Redis Cluster, reading a key of a slot being moved can end the script,
-- and then it has written nothing.
--
-- Invariant: writes only the due index and the quarantine hash; stock,
-- records and holds indexes are unchanged. Each sku's score stays no later
-- than its earliest hold that is not moved aside (looking at its first 100
-- members; past them, a minute later at most).
local now = now_ms()
local limit = tonumber(A_LIMIT)
local want_next = ARGV[A_FIXED + 1] == '1'
local reply, seen = {ST_OK, 0}, {}
-- The writes, made once every read is done: quarantine fields and whys,
-- and due index scores (false: the sku leaves the index).
local moved, whys, set_aside = {}, {}, {}
local rescored, scores = {}, {}

local function add(id)
    if not seen[id] then
        seen[id] = true
        reply[#reply + 1] = id
    end
end

local function move_aside(field, why)
    moved[#moved + 1] = field
    whys[#whys + 1] = why
    set_aside[field] = true
end

-- Holds made before the due index are in the expiry index by id.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', now, 'LIMIT', 0, limit)) do
    add(id)
end

local function aside(id)
    return set_aside[id] or redis.call('HEXISTS', K_QUARANTINE, id) == 1
end

-- The sku's new score: its first hold not moved aside, or false to drop it.
local function rescore(sku, holds)
    local first = redis.call('ZRANGE', holds, 0, 99, 'WITHSCORES')
    for i = 1, #first, 2 do
        local id = hold_parts(first[i])
        if id and not aside(id) then
            return first[i + 1]
        end
    end
    if #first == 0 then
        return false
    end
    return math.max(tonumber(first[#first]) + 1, now + 60000)
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
            move_aside(holds .. ' ' .. member, 'not a hold member')
        elseif not aside(id) then
            if redis.call('EXISTS', A_RES .. id) == 0 then
                move_aside(id, 'the record is gone; its holds on ' .. sku .. ' stay reserved')
                reply[2] = reply[2] + 1
            else
                add(id)
                live = live + 1
            end
        end
    end
    if live == 0 then
        rescored[#rescored + 1] = sku
        scores[#scores + 1] = rescore(sku, holds)
    end
end

for i = 1, #moved do
    redis.call('HSET', K_QUARANTINE, moved[i], whys[i])
end
for i = 1, #rescored do
    if scores[i] then
        redis.call('ZADD', K_DUE, scores[i], rescored[i])
    else
        redis.call('ZREM', K_DUE, rescored[i])
    end
end

if want_next then
    local earliest
    for _, key in ipairs({K_DUE, K_EXPIRY}) do
        local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        if #first > 0 and (earliest == nil or tonumber(first[2]) < earliest) then
            earliest = tonumber(first[2])
        end
    end
    reply[#reply + 1] = earliest == nil and -1 or math.max(0, earliest - now)
end
return reply
