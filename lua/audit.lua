-- audit: checks that every location's reserved count equals the sum of the
-- live holds' allocations there. Read-only. Contract: include/audit.h.
--
-- K_EXPIRY            {ns}:expiry
-- KEYS[K_FIXED+i]     {ns}:res:<id_i>        i = 1..k: every id in the index
-- KEYS[K_FIXED+k+j]   {ns}:stock:<sku_j>     j = 1..m: the skus to check
-- A_K                 k;  ARGV[A_FIXED+i]  id_i
-- ARGV[A_FIXED+k+1]   m;  ARGV[A_FIXED+k+1+j]  sku_j
--
-- Reply: {ST_OK, k, m, d, sku, location, reserved, expected, ... (d groups),
--         s, id, status, ... (s groups: index entries that are not live
--         holds)}
--        {ST_INDEX_MOVED}   the index no longer holds exactly ids 1..k: read
--                           it again
--
-- Invariant: read-only; changes nothing. Redis runs it atomically, so the
-- counts and the holds it compares are one consistent snapshot.
local k = tonumber(A_K)
local m = tonumber(ARGV[A_FIXED + k + 1])
if redis.call('ZCARD', K_EXPIRY) ~= k then
    return {ST_INDEX_MOVED}
end
for i = 1, k do
    if not redis.call('ZSCORE', K_EXPIRY, ARGV[A_FIXED + i]) then
        return {ST_INDEX_MOVED}
    end
end

local checked = {}
for j = 1, m do
    checked[ARGV[A_FIXED + k + 1 + j]] = {}
end
local stale = {}
for i = 1, k do
    local res = load_reservation(KEYS[K_FIXED + i])
    if not res or res.status ~= 'held' then
        stale[#stale + 1] = {ARGV[A_FIXED + i], res and res.status or 'missing'}
    else
        for _, a in ipairs(res.allocs) do
            local want = checked[a[1]]
            if want then
                want[a[2]] = (want[a[2]] or 0) + a[3]
            end
        end
    end
end

local reply = {ST_OK, k, m, 0}
local d = 0
for j = 1, m do
    local sku = ARGV[A_FIXED + k + 1 + j]
    local want = checked[sku]
    local seen = {}
    local all = redis.call('HGETALL', KEYS[K_FIXED + k + j])
    for f = 1, #all, 2 do
        -- The reserved field of a location (stock_fields names them).
        local loc = string.match(all[f], '^(.*):reserved$')
        if loc then
            seen[loc] = true
            local have, expected = tonumber(all[f + 1]) or 0, want[loc] or 0
            if have ~= expected then
                d = d + 1
                reply[#reply + 1] = sku
                reply[#reply + 1] = loc
                reply[#reply + 1] = have
                reply[#reply + 1] = expected
            end
        end
    end
    for loc, expected in pairs(want) do
        if not seen[loc] and expected ~= 0 then
            d = d + 1
            reply[#reply + 1] = sku
            reply[#reply + 1] = loc
            reply[#reply + 1] = 0
            reply[#reply + 1] = expected
        end
    end
end
reply[4] = d
reply[#reply + 1] = #stale
for _, s in ipairs(stale) do
    reply[#reply + 1] = s[1]
    reply[#reply + 1] = s[2]
end
return reply
