-- reservation_plan: what a transition of these reservations will touch: the
-- order binding, the channel (update plans with it) and the skus of their
-- lines (held, or short in a partial hold). Read-only: commit, release and the
-- sweeper call it first (transition.c), because a script must be given
-- every key it uses in KEYS and these keys are only known from the records.
-- Contract: include/transition.h.
--
-- KEYS[1..k]  {ns}:res:<id>
-- A_BUDGET    the most allocations to read: the plan stops after the
--             reservation that reaches it (the first one is always read)
--
-- Reply: {ST_OK, group_1, ..., group_j}, j <= k, each group flat: order_id ('' for
--        none), channel, n, sku_1, ..., sku_n (distinct); n = -1 when the
--        reservation does not exist; '', 'default', 0 when its record
--        cannot be read (the act reads it again and decides).
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK}
local budget = tonumber(A_BUDGET)
for i = 1, #KEYS do
    if i > 1 and budget <= 0 then
        break
    end
    local res = read_reservation(KEYS[i])
    budget = budget - (res and #res.allocs or 1)
    if res == nil then
        reply[#reply + 1] = ''
        reply[#reply + 1] = 'default'
        reply[#reply + 1] = -1
    elseif res == false then
        reply[#reply + 1] = ''
        reply[#reply + 1] = 'default'
        reply[#reply + 1] = 0
    else
        reply[#reply + 1] = res.order_id
        reply[#reply + 1] = res.channel
        local seen, skus = {}, {}
        for _, a in ipairs(res.allocs) do
            if not seen[a[1]] then
                seen[a[1]] = true
                skus[#skus + 1] = a[1]
            end
        end
        for _, s in ipairs(res.shortages) do
            if not seen[s[1]] then
                seen[s[1]] = true
                skus[#skus + 1] = s[1]
            end
        end
        reply[#reply + 1] = #skus
        for _, sku in ipairs(skus) do
            reply[#reply + 1] = sku
        end
    end
end
return reply
