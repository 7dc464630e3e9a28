-- commit: the order is final; the held units are sold. Contract:
-- include/transition.h (the transition layout, k = 1).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events                the ledger stream
-- K_QUARANTINE  {ns}:quarantine            (expire's: unreadable records)
-- K_DUE         {ns}:due                   (extend's: skus by deadline)
-- K_LOCATIONS   (update's)
-- K_STOCK_EVENTS {ns}:stock-events         the stock-level events (stock_events)
-- KEYS[K_FIXED+1]  {ns}:res:<id>
-- KEYS[K_FIXED+2]  {ns}:order:<order_id>   (the res key when it has none)
-- KEYS[K_FIXED+2+j]  {ns}:stock:<sku_j>    j = 1..m, every sku it holds
-- KEYS[K_FIXED+2+m+j]  {ns}:holds:<sku_j>  their holds indexes
-- A_RETENTION   retention in seconds
-- A_MAXLEN      ledger length cap (the stock events' too)
-- A_REASON      unused (release records it)
-- A_BUDGET      unused (expire's)
-- A_K           1;  ARGV[A_FIXED+1]  the reservation id
-- ARGV[A_FIXED+2]  m;  ARGV[A_FIXED+2+j]  sku_j
--
-- Reply: {ST_COMMITTED, reservation...}   also when it was committed before
--        {ST_EXPIRED}       the deadline passed: the hold was released now
--                           (or earlier, by the sweeper)
--        {ST_RELEASED}      released before
--        {ST_NOT_FOUND}     no such reservation
--        {ST_KEYS_MISSING}  a sku it holds has no key in KEYS: plan again
--
-- Stock levels: a commit leaves available as it was (on_hand and reserved
-- go down together), so it appends no stock-level event; a hold expired
-- here appends those of its units given back, cause 'expire'.
--
-- Invariant: held units leave reserved and on_hand together, exactly once;
-- a hold past its deadline is never sold.
local t = transition_layout()
check_stream(K_STOCK_EVENTS)
local rid, res_key = ARGV[A_FIXED + 1], KEYS[K_FIXED + 1]
local res = load_reservation(res_key)
if not res then
    return {ST_NOT_FOUND}
end
if res.status == 'committed' then
    confirm_state(res_key, 'status', res.status)
    return reservation_reply(ST_COMMITTED, rid, res)
elseif res.status == 'released' then
    confirm_state(res_key, 'status', res.status)
    return {ST_RELEASED}
elseif res.status ~= 'held' then
    return {ST_EXPIRED}
end
if not keys_cover(res.allocs, t.stock) then
    return {ST_KEYS_MISSING}
end
local _, _, order_key = transition_item(t, 1, res)

-- A hold that a reserve found due has lost some allocations already: it is
-- expired, whatever the clock says now.
if now_ms() >= res.expires or res.swept > 0 or not all_held(res, rid, t.holds) then
    expire_hold(t, res, rid, res_key, order_key)
    return {ST_EXPIRED}
end
move_units('commit', res, rid, t, '', 0, #res.allocs)
finish(res_key, order_key, K_EXPIRY, rid, 'committed', '', t.retention)
res.status = 'committed'
return reservation_reply(ST_COMMITTED, rid, res)
