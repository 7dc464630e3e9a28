-- extend: a held reservation gets a new deadline, now + ttl_ms.
--
-- KEYS[1]  {ns}:res:<id>
-- KEYS[2]  {ns}:expiry
-- ARGV[1]  reservation id
-- ARGV[2]  ttl_ms
--
-- Reply: the reservation with its new expires_at
--        {1003, 'expired'|'committed'|'released'}   not held, or its
--                                                   deadline has passed
--        {1002}                                     no such reservation
--
-- Invariant: the expiry index and the record always hold the same
-- deadline; a hold past its deadline is never revived.
local r = redis.call('HMGET', KEYS[1], 'status', 'order_id', 'created_at', 'expires_at', 'reason',
                     'allocations')
if not r[1] then
    return {1002}
end
if r[1] ~= 'held' then
    return {1003, r[1]}
end
local now = now_ms()
if now >= tonumber(r[4]) then
    return {1003, 'expired'}
end
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'expires_at', int(expires))
redis.call('ZADD', KEYS[2], expires, ARGV[1])
return reservation_reply(ARGV[1], 'held', r[2], tonumber(r[3]), expires, r[5], 0,
                         cjson.decode(r[6]))
