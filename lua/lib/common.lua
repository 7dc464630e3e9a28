-- Helpers for the scripts. tools/embed_lua.cmake starts each script with its
-- contract (the ST_, K_ and A_ constants generated from the C declaration,
-- see include/contract.h), then the helpers below that the script uses
-- (and those they use), then the script itself: Redis runs every script on
-- its own, so nothing can be shared at run time. The SHA1 covers the whole.

-- Milliseconds on the Redis server's clock, the only clock stockd uses.
local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A whole number as text, never with an exponent.
local function int(n)
    return string.format('%d', n)
end

-- The fields of one location in a {ns}:stock:<sku> hash: units on hand,
-- units held by live reservations, and the safety stock never sold.
local function stock_fields(loc)
    return loc .. ':on_hand', loc .. ':reserved', loc .. ':safety'
end

-- Appends one stock movement to the ledger stream, capped at about maxlen
-- entries. The entry id is the Redis time in ms ("<ms>-<seq>"). Every entry
-- has the same fields, so the stream stores their names once.
-- qty may be given as text already (a hot path saves the formatting).
local function ledger(events, maxlen, kind, sku, loc, qty, rid, reason)
    redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'type', kind, 'sku', sku,
               'location', loc, 'quantity', type(qty) == 'string' and qty or int(qty),
               'reservation', rid, 'reason', reason)
end

-- The backorder limit and low-stock threshold fields of one location in
-- a {ns}:stock:<sku> hash (absent: no backorders, no threshold).
local function backorder_fields(loc)
    return loc .. ':backorder', loc .. ':low_stock'
end

-- The units available at a location, as stock.get shows them (result.c,
-- stock_row_available): on_hand - reserved - safety while that is not
-- negative; below 0, only the units promised beyond stock (on_hand -
-- reserved when that is negative, else 0): safety stock that on_hand does
-- not cover is promised to no one.
local function row_available(on_hand, reserved, safety)
    local a = on_hand - reserved - safety
    if a >= 0 then
        return a
    end
    local beyond = on_hand - reserved
    return beyond < 0 and beyond or 0
end

-- The low-stock threshold of a location from its <loc>:low_stock field
-- (backorder_fields; nil when absent): a number, or nil for none.
local function low_threshold(v)
    local t = tonumber(v)
    if t and t >= 0 then
        return t
    end
    return nil
end

-- True when a change of available from before to after crosses a stock
-- level (stock_events): down through the threshold low (nil: none), or
-- through 0 either way.
local function level_crossed(before, after, low)
    return (before > 0) ~= (after > 0) or (low ~= nil and before > low and after <= low)
end

-- Raises an error unless key is a stream or absent: a script that may
-- append to it calls this before its first write, so that it never fails
-- half way.
local function check_stream(key)
    local t = redis.call('TYPE', key).ok
    if t ~= 'none' and t ~= 'stream' then
        error(key .. ' is a ' .. t .. ', not a stream')
    end
end

-- Appends to the stream events (the stock-level events, capped at about
-- maxlen entries like the ledger) the entries of one change of available
-- at (sku, loc), whose stock hash is key, from before to after, in this
-- order:
--   low_stock      from > low to <= low (low: the threshold, nil for none)
--   out_of_stock   from > 0 to <= 0
--   back_in_stock  from <= 0 to > 0
-- Each has the new available, its threshold (low, or 0), the cause (reserve,
-- commit, release, expire, adjust, set, update or transfer) and the
-- reservation id rid ('' for none), and prev: the id of the entry before
-- it of the same (sku, loc), '' for the first; the last one's id is kept
-- in the field <loc>:event of key. A change that crosses nothing appends
-- nothing, so a location that stays on one side of a level appends one
-- entry however many changes it sees. The caller has checked events
-- (check_stream) and key (a hash it read) before its first write.
local function stock_events(events, maxlen, key, sku, loc, before, after, low, cause, rid)
    local kinds = {}
    if low ~= nil and before > low and after <= low then
        kinds[1], kinds[2] = 'low_stock', int(low)
    end
    if before > 0 and after <= 0 then
        kinds[#kinds + 1], kinds[#kinds + 2] = 'out_of_stock', '0'
    elseif before <= 0 and after > 0 then
        kinds[#kinds + 1], kinds[#kinds + 2] = 'back_in_stock', '0'
    end
    if #kinds == 0 then
        return
    end
    local f_event = loc .. ':event'
    local prev = redis.call('HGET', key, f_event) or ''
    local avail = int(after)
    for i = 1, #kinds, 2 do
        prev = redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'type', kinds[i], 'sku', sku,
                          'location', loc, 'available', avail, 'threshold', kinds[i + 1], 'cause',
                          cause, 'reservation', rid, 'prev', prev)
    end
    redis.call('HSET', key, f_event, prev)
end

-- Changes on_hand by d_on and reserved by d_res at (sku, loc), whose stock
-- hash is key, and appends the stock-level events of the change to
-- K_STOCK_EVENTS (stock_events, with cause and rid).
local function move_row(key, sku, loc, d_on, d_res, maxlen, cause, rid)
    local f_on, f_res, f_saf = stock_fields(loc)
    local _, f_low = backorder_fields(loc)
    local v = redis.call('HMGET', key, f_on, f_res, f_saf, f_low)
    if d_on ~= 0 then
        redis.call('HINCRBY', key, f_on, d_on)
    end
    if d_res ~= 0 then
        redis.call('HINCRBY', key, f_res, d_res)
    end
    local on, res, saf = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
    stock_events(K_STOCK_EVENTS, maxlen, key, sku, loc, row_available(on, res, saf),
                 row_available(on + d_on, res + d_res, saf), low_threshold(v[4]), cause, rid)
end

-- A reservation record as a table, nil when there is none, or false and why
-- when the record cannot be read (a corrupt record: the sweeper moves it
-- aside, every other caller fails with a clear error). Records made by this
-- version have v = '2': each of their allocations is also a member of the
-- sku's holds index (hold_member), and is still held while it is there.
-- swept: how many allocations an unfinished expiry has given back already.
-- An allocation is [sku, location, quantity] or, in a hold that allows
-- backorders, [sku, location, quantity, backordered]. What reserve asked
-- for, kept for reservation.update: channel ('default' when absent),
-- strategy ('auto'), locs (the requested locations comma-joined, '' for
-- the channel's), route (the packed route, ''), flags (HOLD_BACKORDER,
-- HOLD_PARTIAL); shortages [[sku, requested, allocated], ...] of a partial
-- hold; requested {sku: quantity} the items of the reserve, written when an
-- update first changes the lines (a replay compares with them).
local function read_reservation(key)
    local r = redis.call('HMGET', key, 'status', 'order_id', 'created_at', 'expires_at', 'reason',
                         'allocations', 'v', 'swept', 'flags', 'shortages', 'channel', 'strategy',
                         'locs', 'route', 'requested')
    if not r[1] then
        return nil
    end
    local ok, allocs = pcall(cjson.decode, r[6] or '')
    if not ok or type(allocs) ~= 'table' then
        return false, 'allocations are not JSON'
    end
    for _, a in ipairs(allocs) do
        if type(a) ~= 'table' or type(a[1]) ~= 'string' or type(a[2]) ~= 'string' or
            type(a[3]) ~= 'number' or a[3] < 1 or a[3] % 1 ~= 0 or
            (a[4] ~= nil and (type(a[4]) ~= 'number' or a[4] < 0 or a[4] > a[3])) then
            return false, 'an allocation is not [sku, location, quantity(, backordered)]'
        end
    end
    local shortages = {}
    if r[10] then
        ok, shortages = pcall(cjson.decode, r[10])
        if not ok or type(shortages) ~= 'table' then
            return false, 'shortages are not JSON'
        end
    end
    local requested = nil
    if r[15] then
        ok, requested = pcall(cjson.decode, r[15])
        if not ok or type(requested) ~= 'table' then
            return false, 'requested is not JSON'
        end
    end
    local expires = tonumber(r[4])
    if not expires or not tonumber(r[3]) then
        return false, 'created_at or expires_at is not a number'
    end
    return {status = r[1], order_id = r[2] or '', created = tonumber(r[3]), expires = expires,
            reason = r[5] or '', allocs = allocs, indexed = r[7] == '2',
            swept = tonumber(r[8]) or 0, flags = tonumber(r[9]) or 0, shortages = shortages,
            channel = r[11] or 'default', strategy = r[12] or 'auto', locs = r[13] or '',
            route = r[14] or '', requested = requested}
end

-- read_reservation for the callers that cannot go on with a corrupt record.
local function load_reservation(key)
    local res, why = read_reservation(key)
    if res == false then
        error('corrupt reservation record ' .. key .. ': ' .. why)
    end
    return res
end

-- The member of {ns}:holds:<sku> for the i-th allocation of hold rid,
-- scored by the hold's deadline: "<rid>:<i>:<location>:<quantity>" (ids
-- never contain ':'). A reserve that runs short gives back the due members
-- of its own skus from the member alone (reserve.lua).
local function hold_member(rid, i, loc, q)
    return rid .. ':' .. i .. ':' .. loc .. ':' .. q
end

-- The reservation id, location and quantity of a hold_member.
local function hold_parts(member)
    local rid, loc, q = string.match(member, '^([^:]+):%d+:([^:]+):(%d+)$')
    return rid, loc, tonumber(q)
end

-- The reply that describes a reservation (reply.h, reply_reservation):
-- {status, id, state, order_id, created_at, expires_at, reason, flags, s,
--  (sku, requested, allocated) x s, (sku, location, quantity, backordered)
--  ...}; backordered is 0 in a hold without HOLD_BACKORDER (not shown).
local function reservation_reply(status, id, res)
    local reply = {status, id, res.status, res.order_id, res.created, res.expires, res.reason,
                   res.flags, #res.shortages}
    for _, s in ipairs(res.shortages) do
        reply[#reply + 1] = s[1]
        reply[#reply + 1] = s[2]
        reply[#reply + 1] = s[3]
    end
    for _, a in ipairs(res.allocs) do
        reply[#reply + 1] = a[1]
        reply[#reply + 1] = a[2]
        reply[#reply + 1] = a[3]
        reply[#reply + 1] = a[4] or 0
    end
    return reply
end

-- Maps sku -> key for KEYS[first_key..], named by ARGV[first_arg..].
local function keys_by_sku(first_key, first_arg, n)
    local map = {}
    for j = 0, n - 1 do
        map[ARGV[first_arg + j]] = KEYS[first_key + j]
    end
    return map
end

-- True when every allocation's sku has a stock key in keys_by_sku.
local function keys_cover(allocs, keys_by_sku)
    for _, a in ipairs(allocs) do
        if not keys_by_sku[a[1]] then
            return false
        end
    end
    return true
end

-- True when every allocation of an indexed hold is still in its sku's
-- holds index: none was given back by a reserve that found it due.
local function all_held(res, rid, holds)
    if not res.indexed then
        return true
    end
    for i, a in ipairs(res.allocs) do
        if not redis.call('ZSCORE', holds[a[1]], hold_member(rid, i, a[2], a[3])) then
            return false
        end
    end
    return true
end

-- Moves a reservation's units, allocations from+1..to, and records each
-- movement in the ledger, and the stock levels it crosses in the stock
-- events (move_row; cause release for a restock):
--   commit:          sold; on_hand and reserved go down
--   release, expire: a hold given back; reserved goes down
--   restock:         a committed order given back; on_hand goes up
-- An allocation of an indexed hold that has left its holds index was given
-- back already (by a reserve that found it due): it is skipped, so no unit
-- moves twice.
local function move_units(kind, res, rid, t, reason, from, to)
    for i = from + 1, to do
        local a = res.allocs[i]
        local key, loc, q = t.stock[a[1]], a[2], a[3]
        local f_on, f_res = stock_fields(loc)
        local live = kind == 'restock' or not res.indexed or
                         redis.call('ZREM', t.holds[a[1]], hold_member(rid, i, loc, q)) == 1
        if live then
            if kind == 'commit' then
                -- on_hand and reserved go down together: available does
                -- not change, so no stock level is crossed.
                redis.call('HINCRBY', key, f_on, -q)
                redis.call('HINCRBY', key, f_res, -q)
            elseif kind == 'restock' then
                move_row(key, a[1], loc, q, 0, t.maxlen, 'release', rid)
            else
                move_row(key, a[1], loc, 0, -q, t.maxlen, kind, rid)
            end
            ledger(K_EVENTS, t.maxlen, kind, a[1], loc, q, rid, reason)
        end
    end
end

-- Records a reservation's new final state. It holds no units any more, so
-- its record and order binding may now expire after the retention time.
local function finish(res_key, order_key, expiry_key, rid, status, reason, retention)
    if reason ~= '' then
        redis.call('HSET', res_key, 'status', status, 'reason', reason)
    else
        redis.call('HSET', res_key, 'status', status)
    end
    redis.call('ZREM', expiry_key, rid)
    redis.call('EXPIRE', res_key, retention)
    if order_key then
        redis.call('EXPIRE', order_key, retention)
    end
end

-- A replay answers from state that an earlier call wrote, maybe over
-- another connection whose write the replicas have not confirmed yet.
-- Setting a field to the value it holds changes nothing, but it is a write
-- of this call: with --durability, the WAIT that follows this call then
-- covers the state the answer reports (Redis's WAIT counts a connection's
-- own writes only).
local function confirm_state(key, field, value)
    redis.call('HSET', key, field, value)
end

-- The layout that the acts share (transition.h): k reservations, the i-th
-- with id ARGV[A_FIXED + i], record KEYS[K_FIXED + i] and order binding
-- KEYS[K_FIXED + k + i] (its own record when it has no order_id), then the
-- stock keys of the m distinct skus of their lines, then their holds index
-- keys. keys and args: the index of the first KEYS and ARGV element after
-- those (update's channel keys; update's and transfer's own arguments).
local function transition_layout()
    local k = tonumber(A_K)
    local m = tonumber(ARGV[A_FIXED + k + 1])
    local first = K_FIXED + 2 * k + 1
    return {k = k, stock = keys_by_sku(first, A_FIXED + k + 2, m),
            holds = keys_by_sku(first + m, A_FIXED + k + 2, m),
            retention = A_RETENTION, maxlen = A_MAXLEN, keys = first + 2 * m,
            args = A_FIXED + k + 2 + m}
end

-- The i-th reservation of a transition: its id, record key, and order
-- binding key when it has one (nil otherwise).
local function transition_item(t, i, res)
    local order_key = nil
    if res and res.order_id ~= '' then
        order_key = KEYS[K_FIXED + t.k + i]
    end
    return ARGV[A_FIXED + i], KEYS[K_FIXED + i], order_key
end

-- A held reservation past its deadline gives its units back and becomes
-- 'expired': the one step for a late hold, wherever it is found (commit,
-- release, the sweeper). Allocations an unfinished expiry gave back already
-- (res.swept) are not given back again.
local function expire_hold(t, res, rid, res_key, order_key)
    move_units('expire', res, rid, t, '', res.swept, #res.allocs)
    finish(res_key, order_key, K_EXPIRY, rid, 'expired', '', t.retention)
    res.status, res.reason = 'expired', ''
end

-- The flags of a hold (reserve.h, HOLD_BACKORDER and HOLD_PARTIAL): it may
-- take backorder capacity; it was made with allow_partial.
local function allows_backorder(flags)
    return flags % 2 == 1
end

local function made_partial(flags)
    return math.floor(flags / 2) % 2 == 1
end

-- The stock-events stream's consumer groups (webhook_*.lua, include/webhook.h).
-- A chain is the entries of one (sku, location), "<sku>\t<location>"; a
-- group's cursor hash maps each chain to the id of its last entry
-- delivered or given up.

-- The two numbers of a stream id "<ms>-<seq>"; nil for anything else.
local function id_parts(id)
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    return tonumber(ms), tonumber(seq)
end

-- a >= b for two stream ids; false when either is not one.
local function id_at_least(a, b)
    local am, as = id_parts(a)
    local bm, bs = id_parts(b)
    if not am or not bm then
        return false
    end
    return am > bm or (am == bm and as >= bs)
end

-- nil when key is absent or of type want ('hash', 'stream'), else the error
-- reply that says what it is: a script that writes key returns it before
-- its first write.
local function wrong_type(key, want)
    local t = redis.call('TYPE', key).ok
    if t ~= 'none' and t ~= want then
        return redis.error_reply(key .. ' is a ' .. t .. ', not a ' .. want)
    end
    return nil
end

-- The XPENDING entry of id in group ({id, consumer, idle ms, deliveries}),
-- or nil when it is pending there no more (delivered, given up, trimmed,
-- never read) or the group or stream is missing.
local function pending_entry(stream, group, id)
    local p = redis.pcall('XPENDING', stream, group, id, id, 1)
    if type(p) ~= 'table' or p.err or #p == 0 then
        return nil
    end
    return p[1]
end

-- True when the cursor of chain in the cursor hash cursors has reached id.
local function cursor_reached(cursors, chain, id)
    local cursor = redis.pcall('HGET', cursors, chain)
    return type(cursor) == 'string' and id_at_least(cursor, id)
end

-- Moves the cursor of chain up to id, never back; nothing for chain ''
-- (an entry without one). The caller has checked cursors (wrong_type).
local function cursor_advance(cursors, chain, id)
    if chain ~= '' and not cursor_reached(cursors, chain, id) then
        redis.call('HSET', cursors, chain, id)
    end
end
