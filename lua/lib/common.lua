-- Helpers every script starts with. tools/embed_lua.cmake prepends this
-- file to each lua/*.lua at build time (Redis runs every script on its own,
-- so nothing can be shared at run time); the SHA1 covers both parts.

-- Milliseconds on the Redis server's clock, the only clock stockd uses.
local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A whole number as text, never with an exponent.
local function int(n)
    return string.format('%d', n)
end

-- Appends one stock movement to the ledger stream, capped at about maxlen
-- entries. The entry id is the Redis time in ms ("<ms>-<seq>"). Every entry
-- has the same fields, so the stream stores their names once.
local function ledger(events, maxlen, kind, sku, loc, qty, rid, reason)
    redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'type', kind, 'sku', sku,
               'location', loc, 'quantity', int(qty), 'reservation', rid, 'reason', reason)
end

-- The reply that describes a reservation:
-- {0, id, status, order_id, created_at, expires_at, reason, replayed,
--  sku, location, quantity, ...}
local function reservation_reply(id, status, order_id, created, expires, reason, replayed, allocs)
    local reply = {0, id, status, order_id, created, expires, reason or '', replayed}
    for _, a in ipairs(allocs) do
        reply[#reply + 1] = a[1]
        reply[#reply + 1] = a[2]
        reply[#reply + 1] = a[3]
    end
    return reply
end

-- Maps sku -> stock key for KEYS[first_key..], named by ARGV[first_arg..].
local function stock_keys(first_key, first_arg, n)
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

-- Moves a reservation's units and records each movement:
--   commit:          sold; on_hand and reserved go down
--   release, expire: a hold given back; reserved goes down
--   restock:         a committed order given back; on_hand goes up
local function move_units(kind, allocs, keys_by_sku, events, maxlen, rid, reason)
    for _, a in ipairs(allocs) do
        local key, loc, q = keys_by_sku[a[1]], a[2], a[3]
        if kind == 'commit' then
            redis.call('HINCRBY', key, loc .. ':on_hand', -q)
            redis.call('HINCRBY', key, loc .. ':reserved', -q)
        elseif kind == 'restock' then
            redis.call('HINCRBY', key, loc .. ':on_hand', q)
        else
            redis.call('HINCRBY', key, loc .. ':reserved', -q)
        end
        ledger(events, maxlen, kind, a[1], loc, q, rid, reason)
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

