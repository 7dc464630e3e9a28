-- release: compensation. A held reservation gives its units back to
-- available; a committed one is restocked (on_hand goes back up).
--
-- KEYS[1]      {ns}:res:<id>
-- KEYS[2]      {ns}:expiry
-- KEYS[3]      {ns}:events                 the ledger stream
-- KEYS[4]      {ns}:order:<order_id>       (the res key when it has none)
-- KEYS[4+j]    {ns}:stock:<sku_j>          j = 1..m, every sku it holds
-- ARGV[1]      reservation id
-- ARGV[2]      retention in seconds
-- ARGV[3]      ledger length cap
-- ARGV[4]      reason ('' for none), recorded on the reservation
-- ARGV[5]      m;  ARGV[5+j]  sku_j
--
-- Reply: the reservation in its final state (in the replayed slot: 1 when
--        a hold was given back, 2 a committed order, 0 nothing): 'released', or 'expired' when
--        its deadline had passed (the units go back either way). Releasing
--        a released or expired reservation changes nothing.
--        {1002}     no such reservation
--        {-32603}   a sku it holds has no key in KEYS
--
-- Invariant: a reservation's units come back exactly once, however often
-- release is called.
local res, expiry, events = KEYS[1], KEYS[2], KEYS[3]
local rid, retention, maxlen, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local r = redis.call('HMGET', res, 'status', 'order_id', 'created_at', 'expires_at', 'reason',
                     'allocations')
if not r[1] then
    return {1002}
end
local allocs = cjson.decode(r[6])
-- The slot reserve uses for "replayed" says what this call gave back:
-- 1 a hold, 2 a committed order, 0 nothing.
local function reply(status, why, from)
    return reservation_reply(rid, status, r[2], tonumber(r[3]), tonumber(r[4]), why, from, allocs)
end
if r[1] == 'released' or r[1] == 'expired' then
    return reply(r[1], r[5], 0)
end
local keys = stock_keys(5, 6, tonumber(ARGV[5]))
if not keys_cover(allocs, keys) then
    return {-32603}
end
local order_key = r[2] ~= '' and KEYS[4] or nil

local now = now_ms()
if r[1] == 'committed' then
    move_units('restock', allocs, keys, events, maxlen, rid, reason)
    finish(res, order_key, expiry, rid, 'released', reason, retention)
    return reply('released', reason, 2)
end
if now >= tonumber(r[4]) then
    move_units('expire', allocs, keys, events, maxlen, rid, '')
    finish(res, order_key, expiry, rid, 'expired', '', retention)
    return reply('expired', '', 0)
end
move_units('release', allocs, keys, events, maxlen, rid, reason)
finish(res, order_key, expiry, rid, 'released', reason, retention)
return reply('released', reason, 1)
