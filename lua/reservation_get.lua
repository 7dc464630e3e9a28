-- reservation.get: one reservation as it is now; also the second half of an
-- idempotent reserve replay, which checks that the retry asks for the same
-- items as the reservation bound to its order_id. Read-only.
--
-- KEYS[1]    {ns}:res:<id>
-- ARGV[1]    reservation id
-- ARGV[2]    'get', or 'replay' to compare items
-- ARGV[3..]  with 'replay': sku, quantity, sku, quantity, ... of the retry
--
-- Reply: {0, id, status, order_id, created_at, expires_at, reason, replayed,
--         sku, location, quantity, ...}
--        {1002}   no such reservation
--        {1004}   replay with other items than the bound reservation
--
-- Invariant: read-only; changes nothing.
local r = redis.call('HMGET', KEYS[1], 'status', 'order_id', 'created_at', 'expires_at',
                     'reason', 'allocations')
if not r[1] then
    return {1002}
end
local allocs = cjson.decode(r[6])

local replayed = 0
if ARGV[2] == 'replay' then
    local held = {}
    local n_held = 0
    for _, a in ipairs(allocs) do
        if not held[a[1]] then
            n_held = n_held + 1
            held[a[1]] = 0
        end
        held[a[1]] = held[a[1]] + a[3]
    end
    local n_asked = (#ARGV - 2) / 2
    if n_asked ~= n_held then
        return {1004}
    end
    for i = 3, #ARGV, 2 do
        if held[ARGV[i]] ~= tonumber(ARGV[i + 1]) then
            return {1004}
        end
    end
    replayed = 1
end

return reservation_reply(ARGV[1], r[1], r[2], tonumber(r[3]), tonumber(r[4]), r[5] or '',
                         replayed, allocs)
