-- commit: the order is final; the held units are sold.
--
-- KEYS[1]      {ns}:res:<id>
-- KEYS[2]      {ns}:expiry
-- KEYS[3]      {ns}:events                 the ledger stream
-- KEYS[4]      {ns}:order:<order_id>       (the res key when it has none)
-- KEYS[4+j]    {ns}:stock:<sku_j>          j = 1..m, every sku it holds
-- ARGV[1]      reservation id
-- ARGV[2]      retention in seconds
-- ARGV[3]      ledger length cap
-- ARGV[4]      unused (the release reason in release.lua)
-- ARGV[5]      m;  ARGV[5+j]  sku_j
--
-- Reply: the reservation (see lib/common.lua) with status 'committed', also
--        when it was committed before
--        {1003, 'expired'}    the deadline passed: the hold was released
--                             now (or earlier, by the sweeper)
--        {1003, 'released'}   released before
--        {1002}               no such reservation
--        {-32603}             a sku it holds has no key in KEYS
--
-- Invariant: held units leave reserved and on_hand together, exactly once;
-- a hold past its deadline is never sold.
local res, expiry, events = KEYS[1], KEYS[2], KEYS[3]
local rid, retention, maxlen = ARGV[1], ARGV[2], ARGV[3]
local r = redis.call('HMGET', res, 'status', 'order_id', 'created_at', 'expires_at', 'reason',
                     'allocations')
if not r[1] then
    return {1002}
end
local allocs = cjson.decode(r[6])
if r[1] == 'committed' then
    return reservation_reply(rid, 'committed', r[2], tonumber(r[3]), tonumber(r[4]), r[5], 0,
                             allocs)
end
if r[1] ~= 'held' then
    return {1003, r[1]}
end
local keys = stock_keys(5, 6, tonumber(ARGV[5]))
if not keys_cover(allocs, keys) then
    return {-32603}
end
local order_key = r[2] ~= '' and KEYS[4] or nil

local now = now_ms()
if now >= tonumber(r[4]) then
    move_units('expire', allocs, keys, events, maxlen, rid, '')
    finish(res, order_key, expiry, rid, 'expired', '', retention)
    return {1003, 'expired'}
end
move_units('commit', allocs, keys, events, maxlen, rid, '')
finish(res, order_key, expiry, rid, 'committed', '', retention)
return reservation_reply(rid, 'committed', r[2], tonumber(r[3]), tonumber(r[4]), r[5], 0, allocs)
