-- reservation_plan: what a transition of these reservations will touch: the
-- order binding and the skus they hold. Read-only: commit, release and the
-- sweeper call it first (transition.c), because a script must be given
-- every key it uses in KEYS and these keys are only known from the records.
-- Contract: include/transition.h.
--
-- KEYS[1..k]  {ns}:res:<id>
--
-- Reply: {ST_OK, group_1, ..., group_k}, each group flat: order_id ('' for
--        none), n, sku_1, ..., sku_n (distinct); n = -1 when the
--        reservation does not exist.
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK}
for i = 1, #KEYS do
    local res = load_reservation(KEYS[i])
    if not res then
        reply[#reply + 1] = ''
        reply[#reply + 1] = -1
    else
        reply[#reply + 1] = res.order_id
        local seen, skus = {}, {}
        for _, a in ipairs(res.allocs) do
            if not seen[a[1]] then
                seen[a[1]] = true
                skus[#skus + 1] = a[1]
            end
        end
        reply[#reply + 1] = #skus
        for _, sku in ipairs(skus) do
            reply[#reply + 1] = sku
        end
    end
end
return reply
