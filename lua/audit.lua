-- audit: checks, for each sku given, that every location's reserved count
-- equals the sum of the live allocations in the sku's holds index there,
-- and that a sku with holds is in the due index no later than its earliest
-- one (else the sweeper would not find them in time). Read-only.
-- Contract: include/audit.h.
--
-- K_DUE               {ns}:due
-- K_EXPIRY            {ns}:expiry  (a hold made before the due index is
--                     found there by id instead)
-- KEYS[K_FIXED+j]     {ns}:stock:<sku_j>     j = 1..m
-- KEYS[K_FIXED+m+j]   {ns}:holds:<sku_j>
-- A_BUDGET    the most index members to read in this call (a sku is read
--             whole, so the first one always is)
-- A_M         m;  ARGV[A_FIXED+j]  sku_j
--
-- Reply: {ST_OK, done, holds, d, sku, location, reserved, expected, ...
--         (d groups), u, sku, due, earliest, ... (u groups)}: the first
--        `done` skus were checked; holds counts the distinct reservations
--        holding units on each of them (summed); the u skus are due too
--        late (due -1: not in the due index) for their earliest hold
--
-- Invariant: read-only; changes nothing. Redis runs it atomically, so each
-- sku's counts and its index are one consistent snapshot.
local m = tonumber(A_M)
local budget = tonumber(A_BUDGET)
local reply = {ST_OK, 0, 0, 0}
local late = {}
for j = 1, m do
    if j > 1 and budget <= 0 then
        break
    end
    local sku = ARGV[A_FIXED + j]
    local members = redis.call('ZRANGE', KEYS[K_FIXED + m + j], 0, -1, 'WITHSCORES')
    budget = budget - #members / 2
    local want, ids = {}, {}
    if #members > 0 then
        local due = tonumber(redis.call('ZSCORE', K_DUE, sku))
        local earliest = tonumber(members[2])
        if (not due or due > earliest) and
            not redis.call('ZSCORE', K_EXPIRY, hold_parts(members[1]) or '') then
            late[#late + 1] = {sku, due or -1, earliest}
        end
    end
    for x = 1, #members, 2 do
        local id, loc, q = hold_parts(members[x])
        want[loc] = (want[loc] or 0) + q
        if not ids[id] then
            ids[id] = true
            reply[3] = reply[3] + 1
        end
    end
    local seen = {}
    local all = redis.call('HGETALL', KEYS[K_FIXED + j])
    for f = 1, #all, 2 do
        -- The reserved field of a location (stock_fields names them).
        local loc = string.match(all[f], '^(.*):reserved$')
        if loc then
            seen[loc] = true
            local have, expected = tonumber(all[f + 1]) or 0, want[loc] or 0
            if have ~= expected then
                reply[4] = reply[4] + 1
                reply[#reply + 1] = sku
                reply[#reply + 1] = loc
                reply[#reply + 1] = have
                reply[#reply + 1] = expected
            end
        end
    end
    for loc, expected in pairs(want) do
        if not seen[loc] then
            reply[4] = reply[4] + 1
            reply[#reply + 1] = sku
            reply[#reply + 1] = loc
            reply[#reply + 1] = 0
            reply[#reply + 1] = expected
        end
    end
    reply[2] = j
end
reply[#reply + 1] = #late
for _, l in ipairs(late) do
    reply[#reply + 1] = l[1]
    reply[#reply + 1] = l[2]
    reply[#reply + 1] = l[3]
end
return reply
