-- audit: checks, for each sku given, that every location's reserved count
-- equals the sum of the live allocations in the sku's holds index there.
-- Read-only. Contract: include/audit.h.
--
-- KEYS[j]     {ns}:stock:<sku_j>     j = 1..m
-- KEYS[m+j]   {ns}:holds:<sku_j>
-- A_BUDGET    the most index members to read in this call (a sku is read
--             whole, so the first one always is)
-- A_M         m;  ARGV[A_FIXED+j]  sku_j
--
-- Reply: {ST_OK, done, holds, d, sku, location, reserved, expected, ...
--         (d groups)}: the first `done` skus were checked; holds counts the
--        distinct reservations holding units on each of them (summed)
--
-- Invariant: read-only; changes nothing. Redis runs it atomically, so each
-- sku's counts and its index are one consistent snapshot.
local m = tonumber(A_M)
local budget = tonumber(A_BUDGET)
local reply = {ST_OK, 0, 0, 0}
for j = 1, m do
    if j > 1 and budget <= 0 then
        break
    end
    local sku = ARGV[A_FIXED + j]
    local members = redis.call('ZRANGE', KEYS[m + j], 0, -1)
    budget = budget - #members
    local want, ids = {}, {}
    for _, member in ipairs(members) do
        local id, loc, q = hold_parts(member)
        want[loc] = (want[loc] or 0) + q
        if not ids[id] then
            ids[id] = true
            reply[3] = reply[3] + 1
        end
    end
    local seen = {}
    local all = redis.call('HGETALL', KEYS[j])
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
return reply
