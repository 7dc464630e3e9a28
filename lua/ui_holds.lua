-- ui.holds: how many allocations are held and which one is due first, for
-- the status page. Read-only. Contract: include/ui_data.h.
--
-- K_DUE      {ns}:due      skus with holds, each scored no later than its
--                          earliest deadline
-- A_HOLDS    "{ns}:holds:", the start of a sku's holds index key
-- A_RES      "{ns}:res:", the start of a reservation's key
-- A_SKUS     the most skus whose holds are counted (the first by score)
-- A_FIRST    the most skus, of those, whose first hold is looked at
--
-- Reply: {ST_OK, now, skus, holds, complete} or, when a first hold was
-- found, {ST_OK, now, skus, holds, complete, reservation_id, sku,
-- location, quantity, deadline, created_at}: now in ms on Redis's clock;
-- skus the size of the due index; holds the members of the holds indexes
-- of the first A_SKUS skus (one per held allocation); complete 1 when that
-- was every sku, else 0; then the member with the earliest deadline (its
-- score) among the first member of each of the first A_FIRST skus, with
-- its record's created_at ('' when the record is gone or has none). A
-- member that is not a hold_member is passed over.
--
-- Invariant: read-only; changes nothing. At most A_SKUS + A_FIRST + 3
-- commands, whatever the number of holds.
local now = now_ms()
local total = redis.call('ZCARD', K_DUE)
local skus = redis.call('ZRANGE', K_DUE, 0, tonumber(A_SKUS) - 1)
local first = tonumber(A_FIRST)
local holds, best, best_sku, best_at = 0, nil, nil, nil
for i, sku in ipairs(skus) do
    local key = A_HOLDS .. sku
    holds = holds + redis.call('ZCARD', key)
    if i <= first then
        local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        local at = tonumber(head[2])
        if at and hold_parts(head[1]) and (best_at == nil or at < best_at) then
            best, best_sku, best_at = head[1], sku, at
        end
    end
end
local reply = {ST_OK, now, total, holds, total <= #skus and 1 or 0}
if best then
    local rid, loc, q = hold_parts(best)
    local created = tonumber(redis.call('HGET', A_RES .. rid, 'created_at'))
    reply[6], reply[7], reply[8], reply[9] = rid, best_sku, loc, q
    reply[10], reply[11] = best_at, created or ''
end
return reply
