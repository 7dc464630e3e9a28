-- extend: a held reservation gets a new deadline, now + ttl_ms. Contract:
-- include/reservation.h.
--
-- K_RES      {ns}:res:<id>
-- K_EXPIRY   {ns}:expiry
-- A_ID       reservation id
-- A_TTL      ttl_ms
--
-- Reply: {ST_EXTENDED, reservation...}   with its new expires_at
--        {ST_EXPIRED}                    its deadline has passed (the sweeper
--                                        gives its units back), or it
--                                        expired before
--        {ST_COMMITTED} | {ST_RELEASED}  not held
--        {ST_NOT_FOUND}                  no such reservation
--
-- Invariant: the expiry index and the record always hold the same
-- deadline; a hold past its deadline is never revived.
local res = load_reservation(K_RES)
if not res then
    return {ST_NOT_FOUND}
end
if res.status == 'committed' then
    return {ST_COMMITTED}
elseif res.status == 'released' then
    return {ST_RELEASED}
elseif res.status ~= 'held' then
    return {ST_EXPIRED}
end
local now = now_ms()
if now >= res.expires then
    return {ST_EXPIRED}
end
res.expires = now + tonumber(A_TTL)
redis.call('HSET', K_RES, 'expires_at', int(res.expires))
redis.call('ZADD', K_EXPIRY, res.expires, A_ID)
return reservation_reply(ST_EXTENDED, A_ID, res)
