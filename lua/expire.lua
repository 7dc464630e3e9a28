-- expire: the sweeper's release of held reservations past their deadline,
-- a batch at a time. Every replica sweeps; the checks here make a second
-- sweep of the same reservation a no-op, so each is released exactly once.
-- Contract: include/transition.h (the transition layout).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events
-- K_QUARANTINE  {ns}:quarantine            (expire's: unreadable records)
-- K_DUE         {ns}:due                   unused
-- K_LOCATIONS   (update's)
-- K_STOCK_EVENTS {ns}:stock-events         the stock-level events (stock_events)
-- KEYS[K_FIXED+i]    {ns}:res:<id_i>            i = 1..k
-- KEYS[K_FIXED+k+i]  {ns}:order:<order_id_i>    (the res key when none)
-- KEYS[K_FIXED+2k+j] {ns}:stock:<sku_j>         j = 1..m, every sku held
-- KEYS[K_FIXED+2k+m+j] {ns}:holds:<sku_j>       their holds indexes
-- A_RETENTION   retention in seconds
-- A_MAXLEN      ledger length cap (the stock events' too)
-- A_REASON      unused
-- A_BUDGET      the most allocations this call gives back
-- A_K           k;  ARGV[A_FIXED+i]  id_i
-- ARGV[A_FIXED+k+1]  m;  ARGV[A_FIXED+k+1+j]  sku_j
--
-- Reply: {ST_OK, expired, more, q, id_1, why_1, ..., id_q, why_q}
--          expired: holds this call finished; more: 1 when the budget ran
--          out with due work left (the hold it stopped in keeps its place:
--          its record's 'swept' field says how far it got); q records that
--          cannot be read, moved aside: their ids go to the
--          {ns}:quarantine hash (id -> why; and leave {ns}:expiry), which
--          expire_due passes over; the record stays as it is
--        {ST_KEYS_MISSING}   a sku held has no key in KEYS: plan again
--
-- Stock levels: units given back that take a location's available above 0
-- append a back_in_stock entry (stock_events), cause 'expire', with the
-- id of the hold.
--
-- Invariant: only a reservation still held and past its deadline (Redis
-- clock) gives its units back, once, even when its id is given twice or
-- its expiry is spread over several calls; stale index entries are
-- dropped. All checks run before the first write; the work of one call is
-- bounded by A_BUDGET allocations, not by holds.
local t = transition_layout()
check_stream(K_STOCK_EVENTS)
local now = now_ms()
local budget = tonumber(A_BUDGET)

local due, stale, bad, seen = {}, {}, {}, {}
for i = 1, t.k do
    local rid, res_key = transition_item(t, i, nil)
    -- An id given twice is looked at once: every record is read before the
    -- first write, so a second look would still see it held.
    if not seen[rid] then
        seen[rid] = true
        local res, why = read_reservation(res_key)
        if res == false then
            -- Moved aside once, however many replicas find it.
            if redis.call('HEXISTS', K_QUARANTINE, rid) == 0 then
                bad[#bad + 1] = {rid, why}
            end
        elseif not res or res.status ~= 'held' then
            stale[#stale + 1] = rid
        elseif res.expires <= now then
            if not keys_cover(res.allocs, t.stock) then
                return {ST_KEYS_MISSING}
            end
            due[#due + 1] = {i, res}
        end
    end
end

local reply = {ST_OK, 0, 0, #bad}
for _, b in ipairs(bad) do
    redis.call('ZREM', K_EXPIRY, b[1])
    redis.call('HSET', K_QUARANTINE, b[1], b[2])
    reply[#reply + 1] = b[1]
    reply[#reply + 1] = b[2]
end
for _, rid in ipairs(stale) do
    redis.call('ZREM', K_EXPIRY, rid)
end
for _, d in ipairs(due) do
    local res = d[2]
    local rid, res_key, order_key = transition_item(t, d[1], res)
    local left = #res.allocs - res.swept
    if budget <= 0 then
        reply[3] = 1
        break
    elseif left > budget then
        -- Part of it now, the rest in the calls after: the hold stays held
        -- (and due) until its last allocation is given back.
        move_units('expire', res, rid, t, '', res.swept, res.swept + budget)
        redis.call('HSET', res_key, 'swept', res.swept + budget)
        reply[3] = 1
        break
    end
    expire_hold(t, res, rid, res_key, order_key)
    budget = budget - left
    reply[2] = reply[2] + 1
end
return reply
