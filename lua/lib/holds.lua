-- Changing a live hold in place: reservation.update and reservation.transfer
-- (lua/update.lua, lua/transfer.lua). Each checks everything first, then
-- makes its changes with these helpers.

-- The checks both start with, on the one reservation of the transition
-- layout t: nil and the reply when the hold cannot be changed (not found,
-- not held, keys missing; a hold past its deadline is expired here, for
-- good), else the reservation, its id and record key.
local function live_hold(t)
    local rid, res_key = ARGV[A_FIXED + 1], KEYS[K_FIXED + 1]
    local res = load_reservation(res_key)
    if not res then
        return nil, {ST_NOT_FOUND}
    end
    if res.status ~= 'held' then
        return nil, {ST_NOT_HELD, res.status}
    end
    if not keys_cover(res.allocs, t.stock) or not keys_cover(res.shortages, t.stock) then
        return nil, {ST_KEYS_MISSING}
    end
    if now_ms() >= res.expires or res.swept > 0 or not all_held(res, rid, t.holds) then
        local _, _, order_key = transition_item(t, 1, res)
        expire_hold(t, res, rid, res_key, order_key)
        return nil, {ST_NOT_HELD, 'expired'}
    end
    return res, rid, res_key
end

-- Raises an error unless the reserved count of loc in the stock hash key is
-- a whole number (or absent): called for every count a change will write,
-- before its first write, so that a broken count fails the call whole.
local function check_reserved(key, loc)
    local _, f_res = stock_fields(loc)
    local v = redis.call('HGET', key, f_res)
    if v and not string.find(v, '^%-?%d+$') then
        error('the reserved units at ' .. loc .. ' in ' .. key .. ' are not a whole number')
    end
end

-- What a line may take at loc of the stock hash key now, and how much of
-- that available stock covers (the rest is backorder capacity, counted only
-- when bo).
local function capacity_at(key, loc, bo)
    local f_on, f_res, f_saf = stock_fields(loc)
    local f_bo = backorder_fields(loc)
    local v = redis.call('HMGET', key, f_on, f_res, f_saf, f_bo)
    local covered = (tonumber(v[1]) or 0) - (tonumber(v[2]) or 0) - (tonumber(v[3]) or 0)
    local cap = covered + (bo and (tonumber(v[4]) or 0) or 0)
    return cap, covered > 0 and covered or 0
end

-- A copy of the allocations to change (rewrite_allocs stores it).
local function copy_allocs(allocs)
    local new = {}
    for i, a in ipairs(allocs) do
        new[i] = {a[1], a[2], a[3], a[4]}
    end
    return new
end

-- The index in allocs of sku's allocation at loc, or nil; and where a new
-- one of sku goes: after its last allocation, or at the end.
local function find_alloc(allocs, sku, loc)
    local at, after = nil, #allocs + 1
    for i, a in ipairs(allocs) do
        if a[1] == sku then
            after = i + 1
            if a[2] == loc then
                at = i
            end
        end
    end
    return at, after
end

-- Moves d (signed) units of sku's reserved count at loc, and records it in
-- the ledger: a reserve (d > 0) or a release, with reason; and in the
-- stock events when it crosses a stock level, with reason as its cause
-- (move_row).
local function move_reserved(t, sku, loc, d, rid, reason)
    move_row(t.stock[sku], sku, loc, 0, d, t.maxlen, reason, rid)
    ledger(K_EVENTS, t.maxlen, d > 0 and 'reserve' or 'release', sku, loc, d > 0 and d or -d, rid,
           reason)
end

-- Replaces the hold's allocations by new ones (those of quantity 0
-- dropped): their members in the holds indexes, the due index, the record.
-- res.allocs becomes the new list.
local function rewrite_allocs(t, res, rid, res_key, new)
    for i, a in ipairs(res.allocs) do
        redis.call('ZREM', t.holds[a[1]], hold_member(rid, i, a[2], a[3]))
    end
    local kept, json = {}, {}
    for _, a in ipairs(new) do
        if a[3] > 0 then
            kept[#kept + 1] = a
        end
    end
    for i, a in ipairs(kept) do
        redis.call('ZADD', t.holds[a[1]], res.expires, hold_member(rid, i, a[2], a[3]))
        redis.call('ZADD', K_DUE, 'LT', res.expires, a[1])
        if a[4] then
            json[i] = '["' .. a[1] .. '","' .. a[2] .. '",' .. int(a[3]) .. ',' .. int(a[4]) .. ']'
        else
            json[i] = '["' .. a[1] .. '","' .. a[2] .. '",' .. int(a[3]) .. ']'
        end
    end
    redis.call('HSET', res_key, 'allocations', '[' .. table.concat(json, ',') .. ']', 'v', '2')
    res.allocs = kept
end
