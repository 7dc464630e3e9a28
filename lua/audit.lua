-- audit: checks that every location's reserved count equals the sum of the
-- live holds' allocations there. Read-only.
--
-- KEYS[1]          {ns}:expiry
-- KEYS[1+i]        {ns}:res:<id_i>        i = 1..k: every id in the index
-- KEYS[1+k+j]      {ns}:stock:<sku_j>     j = 1..m: the skus to check
-- ARGV[1]          k;  ARGV[1+i]    id_i
-- ARGV[2+k]        m;  ARGV[2+k+j]  sku_j
--
-- Reply: {0, k, m, d, sku, location, reserved, expected, ... (d groups),
--         s, id, status, ... (s groups: index entries that are not live
--         holds)}
--        {2}   the index no longer holds exactly ids 1..k: read it again
--
-- Invariant: read-only; changes nothing. Redis runs it atomically, so the
-- counts and the holds it compares are one consistent snapshot.
local k = tonumber(ARGV[1])
local m = tonumber(ARGV[2 + k])
if redis.call('ZCARD', KEYS[1]) ~= k then
    return {2}
end
for i = 1, k do
    if not redis.call('ZSCORE', KEYS[1], ARGV[1 + i]) then
        return {2}
    end
end

local checked = {}
for j = 1, m do
    checked[ARGV[2 + k + j]] = {}
end
local stale = {}
for i = 1, k do
    local r = redis.call('HMGET', KEYS[1 + i], 'status', 'allocations')
    if r[1] ~= 'held' then
        stale[#stale + 1] = {ARGV[1 + i], r[1] or 'missing'}
    else
        for _, a in ipairs(cjson.decode(r[2])) do
            local want = checked[a[1]]
            if want then
                want[a[2]] = (want[a[2]] or 0) + a[3]
            end
        end
    end
end

local reply = {0, k, m, 0}
local d = 0
for j = 1, m do
    local sku = ARGV[2 + k + j]
    local want = checked[sku]
    local seen = {}
    local all = redis.call('HGETALL', KEYS[1 + k + j])
    for f = 1, #all, 2 do
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
