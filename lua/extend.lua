-- extend: a held reservation gets a new deadline, now + A_TTL ms. Contract:
-- include/transition.h (the transition layout, k = 1).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events                unused
-- K_QUARANTINE  {ns}:quarantine            unused
-- K_DUE         {ns}:due
-- K_LOCATIONS, K_STOCK_EVENTS              unused
-- KEYS[K_FIXED+1]  {ns}:res:<id>
-- KEYS[K_FIXED+2]  {ns}:order:<order_id>   (the res key when it has none)
-- KEYS[K_FIXED+2+j]  {ns}:stock:<sku_j>    j = 1..m, every sku it holds
-- KEYS[K_FIXED+2+m+j]  {ns}:holds:<sku_j>  their holds indexes
-- A_TTL         ttl_ms
-- A_RETENTION, A_MAXLEN, A_REASON, A_BUDGET  unused
-- A_K           1;  ARGV[A_FIXED+1]  the reservation id
-- ARGV[A_FIXED+2]  m;  ARGV[A_FIXED+2+j]  sku_j
--
-- Reply: {ST_EXTENDED, reservation...}   with its new expires_at
--        {ST_EXPIRED}                    its deadline has passed (its units
--                                        go back at the next sweep, or
--                                        went back already), or it expired
--                                        before
--        {ST_COMMITTED} | {ST_RELEASED}  not held
--        {ST_NOT_FOUND}                  no such reservation
--        {ST_KEYS_MISSING}               a sku held has no key in KEYS
--
-- Invariant: the record and the holds indexes (and the expiry index, for a
-- hold made before the due index) always hold the same deadline, and each
-- sku's entry in the due index is no later than it; a hold past its
-- deadline is never revived.
local t = transition_layout()
local rid, res_key = ARGV[A_FIXED + 1], KEYS[K_FIXED + 1]
local res = load_reservation(res_key)
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
if not keys_cover(res.allocs, t.stock) then
    return {ST_KEYS_MISSING}
end
local now = now_ms()
if now >= res.expires or res.swept > 0 or not all_held(res, rid, t.holds) then
    return {ST_EXPIRED}
end
res.expires = now + tonumber(A_TTL)
redis.call('HSET', res_key, 'expires_at', int(res.expires))
redis.call('ZADD', K_EXPIRY, 'XX', res.expires, rid)
if res.indexed then
    for i, a in ipairs(res.allocs) do
        redis.call('ZADD', t.holds[a[1]], 'XX', res.expires, hold_member(rid, i, a[2], a[3]))
        redis.call('ZADD', K_DUE, 'LT', res.expires, a[1])
    end
end
return reservation_reply(ST_EXTENDED, rid, res)
