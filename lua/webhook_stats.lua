-- webhook_stats: how far behind one webhook URL's consumer group is, for
-- the metrics and /readyz, with Redis's clock; and the removal of
-- consumers (replicas long gone) that hold nothing. Contract:
-- include/webhook.h.
--
-- K_STREAM      {ns}:stock-events
-- A_GROUP       the URL's consumer group
-- A_CONSUMER    this replica (never removed)
-- A_REAP_IDLE   ms: a consumer idle this long with nothing pending is removed
--
-- Reply: {ST_OK, now, pending, unread, oldest pending id, first unread id,
--        removed}: now Redis's clock (ms); pending the entries read and
--        not finished; unread the entries not yet read by the group (-1
--        when Redis cannot tell); the ids '' when there are none; removed
--        the consumers removed by this call.
--
-- Invariant: writes nothing but the removal of consumers without pending
-- entries (a live replica that is removed is added again by its next read,
-- and loses nothing).
local now = now_ms()
local out = {ST_OK, now, 0, 0, '', '', 0}
if redis.call('TYPE', K_STREAM).ok ~= 'stream' then
    return out
end

local function as_map(flat)
    local m = {}
    for i = 1, #flat - 1, 2 do
        m[flat[i]] = flat[i + 1]
    end
    return m
end

local group
for _, g in ipairs(redis.call('XINFO', 'GROUPS', K_STREAM)) do
    local m = as_map(g)
    if m['name'] == A_GROUP then
        group = m
    end
end
if not group then
    return out
end

local last = group['last-delivered-id']
out[3] = group['pending']
local unread = group['lag']
if type(unread) ~= 'number' then
    -- Redis cannot tell after deletions: count, up to a bound.
    unread = #redis.call('XRANGE', K_STREAM, '(' .. last, '+', 'COUNT', 1000)
end
out[4] = unread
if out[3] > 0 then
    local summary = redis.call('XPENDING', K_STREAM, A_GROUP)
    out[5] = summary[2] or ''
end
local first = redis.call('XRANGE', K_STREAM, '(' .. last, '+', 'COUNT', 1)
if first[1] then
    out[6] = first[1][1]
end

local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', K_STREAM, A_GROUP)) do
    local m = as_map(c)
    if removed < 100 and m['name'] ~= A_CONSUMER and m['pending'] == 0 and
        m['idle'] > tonumber(A_REAP_IDLE) then
        redis.call('XGROUP', 'DELCONSUMER', K_STREAM, A_GROUP, m['name'])
        removed = removed + 1
    end
end
out[7] = removed
return out
