-- reservation.transfer: moves held units of one line of a held reservation
-- from one location to another, atomically. Contract: include/transition.h
-- (the transition layout, k = 1, with transfer's arguments).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events                the ledger stream
-- K_QUARANTINE  {ns}:quarantine            (expire's)
-- K_DUE         {ns}:due                   skus by their earliest deadline
-- K_LOCATIONS   (update's)
-- K_STOCK_EVENTS {ns}:stock-events         the stock-level events (stock_events)
-- KEYS[K_FIXED+1]  {ns}:res:<id>
-- KEYS[K_FIXED+2]  {ns}:order:<order_id>   (the res key when it has none)
-- KEYS[K_FIXED+2+j]  {ns}:stock:<sku_j>    j = 1..m, every sku of its lines
-- KEYS[K_FIXED+2+m+j]  {ns}:holds:<sku_j>  their holds indexes
-- A_RETENTION, A_MAXLEN   retention (an expiry found here), ledger cap
--                          (the stock events' too)
-- A_K           1;  ARGV[A_FIXED+1]  the reservation id
-- ARGV[A_FIXED+2]  m;  ARGV[A_FIXED+2+j]  sku_j
-- then sku, from, to, and quantity ('' for all the line holds at from)
--
-- Reply: {ST_MOVED, reservation...}
--        {ST_UNCHANGED, reservation...}  the line holds nothing at from and
--                                        the units at to: a retry; nothing
--                                        written
--        {ST_NOT_FOUND}
--        {ST_NOT_HELD, status}           committed, released or expired (a
--                                        hold past its deadline is expired now)
--        {ST_NOT_A_LINE, sku}            the hold has no units of sku
--        {ST_NOT_AT, held}               the line holds fewer units at from
--        {ST_SHORT, sku, requested, available}  to cannot take them
--                                        (available there, plus its
--                                        backorder limit when the hold
--                                        allows backorders)
--        {ST_KEYS_MISSING}               a sku of its lines has no key: plan again
--
-- The units join the line's allocation at to, or a new one that takes the
-- place of the one at from when all of it moved, else comes after the
-- line's allocations. to need not be in the channel. A release at from and
-- a reserve at to are recorded, reason 'transfer'; each, when it takes
-- available through a threshold or through 0, appends the entries of
-- stock_events, cause 'transfer' (from first); a hold expired here appends
-- those of its units given back, cause 'expire'.
--
-- Invariants: all checks before the first write; the units are never
-- counted at both locations, nor at neither; available at to never goes
-- below -backorder_limit (nor below 0 without backorders).
local t = transition_layout()
check_stream(K_STOCK_EVENTS)
local res, rid, res_key = live_hold(t)
if not res then
    return rid
end
local sku, from, to = ARGV[t.args], ARGV[t.args + 1], ARGV[t.args + 2]
local quantity = tonumber(ARGV[t.args + 3])
local at_from, at_to, units = 0, 0, 0
for _, a in ipairs(res.allocs) do
    if a[1] == sku then
        units = units + a[3]
        if a[2] == from then
            at_from = at_from + a[3]
        elseif a[2] == to then
            at_to = at_to + a[3]
        end
    end
end
if units == 0 then
    return {ST_NOT_A_LINE, sku}
end
if at_from == 0 and at_to > 0 and (not quantity or at_to >= quantity) then
    return reservation_reply(ST_UNCHANGED, rid, res)
end
local q = quantity or at_from
if at_from == 0 or at_from < q then
    return {ST_NOT_AT, at_from}
end
local bo = allows_backorder(res.flags)
local cap, covered = capacity_at(t.stock[sku], to, bo)
if cap < q then
    return {ST_SHORT, sku, q, cap > 0 and cap or 0}
end

check_reserved(t.stock[sku], from)
check_reserved(t.stock[sku], to)

local new = copy_allocs(res.allocs)
local i_from = find_alloc(new, sku, from)
local a = new[i_from]
a[3] = a[3] - q
if a[4] then
    a[4] = math.max(0, a[4] - q)
end
local b = bo and math.max(0, q - covered) or nil
local i_to, after = find_alloc(new, sku, to)
if i_to then
    new[i_to][3] = new[i_to][3] + q
    if b then
        new[i_to][4] = (new[i_to][4] or 0) + b
    end
elseif a[3] == 0 then
    new[i_from] = {sku, to, q, b}
else
    table.insert(new, after, {sku, to, q, b})
end
move_reserved(t, sku, from, -q, rid, 'transfer')
move_reserved(t, sku, to, q, rid, 'transfer')
rewrite_allocs(t, res, rid, res_key, new)
return reservation_reply(ST_MOVED, rid, res)
