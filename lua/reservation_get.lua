-- reservation.get: one reservation as it is now; also the second half of an
-- idempotent reserve replay, which checks that the retry asks for the same
-- items as the reservation bound to its order_id. Read-only. Contract:
-- include/reservation.h.
--
-- K_RES      {ns}:res:<id>
-- A_ID       reservation id
-- A_MODE     'get', or 'replay' to compare items (with the reserve's: a
--            partial hold's requested quantities, and the items as they
--            were before any reservation.update)
-- ARGV[A_FIXED+1..]  with 'replay': sku, quantity, sku, quantity, ... of
--                    the retry
--
-- Reply: {ST_FOUND, reservation...}      (reservation_reply)
--        {ST_REPLAYED, reservation...}   a replay whose items match
--        {ST_NOT_FOUND}                  no such reservation
--        {ST_MISMATCH}                   a replay with other items than the
--                                        bound reservation
--
-- A hold past its deadline is reported 'expired' although its record says
-- 'held' until the sweeper (or a reserve of its skus) gives its units back:
-- from its deadline on, it holds nothing that can be committed or extended.
--
-- Invariant: read-only; changes nothing.
local res = load_reservation(K_RES)
if not res then
    return {ST_NOT_FOUND}
end
if res.status == 'held' and (res.swept > 0 or now_ms() >= res.expires) then
    res.status = 'expired'
end
if A_MODE ~= 'replay' then
    return reservation_reply(ST_FOUND, A_ID, res)
end

-- What the reserve asked for: its items as an update first found them
-- (requested), or the units held per sku with each shortage's request.
local held = {}
local n_held = 0
if res.requested then
    for sku, q in pairs(res.requested) do
        n_held = n_held + 1
        held[sku] = q
    end
else
    for _, a in ipairs(res.allocs) do
        if not held[a[1]] then
            n_held = n_held + 1
            held[a[1]] = 0
        end
        held[a[1]] = held[a[1]] + a[3]
    end
    for _, s in ipairs(res.shortages) do
        if not held[s[1]] then
            n_held = n_held + 1
        end
        held[s[1]] = s[2]
    end
end
if (#ARGV - A_FIXED) / 2 ~= n_held then
    return {ST_MISMATCH}
end
for i = A_FIXED + 1, #ARGV, 2 do
    if held[ARGV[i]] ~= tonumber(ARGV[i + 1]) then
        return {ST_MISMATCH}
    end
end
return reservation_reply(ST_REPLAYED, A_ID, res)
