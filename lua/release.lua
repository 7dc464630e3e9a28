-- release: compensation. A held reservation gives its units back to
-- available; a committed one is restocked (on_hand goes back up). Contract:
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
-- A_REASON      reason ('' for none), recorded on the reservation
-- A_BUDGET      unused (expire's)
-- A_K           1;  ARGV[A_FIXED+1]  the reservation id
-- ARGV[A_FIXED+2]  m;  ARGV[A_FIXED+2+j]  sku_j
--
-- Reply, each with the reservation in its final state after the status:
--        {ST_RELEASED, ...}    a hold was given back
--        {ST_RESTOCKED, ...}   a committed order was given back
--        {ST_EXPIRED, ...}     its deadline had passed: its units went back
--                              as an expiry
--        {ST_UNCHANGED, ...}   released or expired before: nothing changes
--        {ST_NOT_FOUND}        no such reservation
--        {ST_KEYS_MISSING}     a sku it holds has no key in KEYS: plan again
--
-- Stock levels: units that come back and take a location's available
-- above 0 append a back_in_stock entry (stock_events), cause 'release'
-- (also for a restock), or 'expire' for a hold expired here.
--
-- Invariant: a reservation's units come back exactly once, however often
-- release is called.
local t = transition_layout()
check_stream(K_STOCK_EVENTS)
local rid, res_key = ARGV[A_FIXED + 1], KEYS[K_FIXED + 1]
local reason = A_REASON
local res = load_reservation(res_key)
if not res then
    return {ST_NOT_FOUND}
end
if res.status == 'released' or res.status == 'expired' then
    confirm_state(res_key, 'status', res.status)
    return reservation_reply(ST_UNCHANGED, rid, res)
end
if not keys_cover(res.allocs, t.stock) then
    return {ST_KEYS_MISSING}
end
local _, _, order_key = transition_item(t, 1, res)

if res.status == 'committed' then
    move_units('restock', res, rid, t, reason, 0, #res.allocs)
    finish(res_key, order_key, K_EXPIRY, rid, 'released', reason, t.retention)
    res.status, res.reason = 'released', reason
    return reservation_reply(ST_RESTOCKED, rid, res)
end
if now_ms() >= res.expires or res.swept > 0 or not all_held(res, rid, t.holds) then
    expire_hold(t, res, rid, res_key, order_key)
    return reservation_reply(ST_EXPIRED, rid, res)
end
move_units('release', res, rid, t, reason, 0, #res.allocs)
finish(res_key, order_key, K_EXPIRY, rid, 'released', reason, t.retention)
res.status, res.reason = 'released', reason
return reservation_reply(ST_RELEASED, rid, res)
