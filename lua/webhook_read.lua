-- webhook_read: the next entries of the stock-events stream for one
-- replica of one webhook URL's consumer group. Contract: include/webhook.h.
--
-- K_STREAM      {ns}:stock-events
-- A_GROUP       the URL's consumer group, "webhook:<16 hex>"
-- A_CONSUMER    this replica ("<host>-<pid>")
-- A_COUNT       the most entries to return (the room in its queue)
-- A_CLAIM_IDLE  ms: entries idle this long belong to a silent replica
-- A_CLAIM_FROM  where a claim pass goes on (XAUTOCLAIM's cursor), or ''
--               for no claim in this call
--
-- Reply: {status, last, claim_next, claimed, read, then per entry: id, n,
--        and its n fields and values}: status ST_CREATED when this call
--        created the group (at the stream's end: a new URL hears of events
--        from now on), else ST_OK; last the id of the stream's last entry
--        ('0-0' for none); claim_next the cursor of the claim pass ('0-0'
--        when it is over, '' without one); claimed entries (taken over
--        from silent replicas, oldest first), then read ones (new).
--
-- Invariant: entries move only from the stream into this consumer's
-- pending list (or from a silent consumer's to this one's); nothing else
-- is written but the group, when missing.
local t = redis.call('TYPE', K_STREAM).ok
if t ~= 'none' and t ~= 'stream' then
    return redis.error_reply(K_STREAM .. ' is a ' .. t .. ', not a stream')
end

local out = {ST_OK, '0-0', '', 0, 0}
local count = tonumber(A_COUNT)

local function add(id, fields)
    out[#out + 1] = id
    out[#out + 1] = #fields
    for i = 1, #fields do
        out[#out + 1] = fields[i]
    end
end

local function is_nogroup(r)
    return type(r) == 'table' and r.err ~= nil and string.find(r.err, 'NOGROUP', 1, true) ~= nil
end

local function last_id()
    local last = redis.call('XREVRANGE', K_STREAM, '+', '-', 'COUNT', 1)
    return last[1] and last[1][1] or '0-0'
end

local function created()
    redis.call('XGROUP', 'CREATE', K_STREAM, A_GROUP, '$', 'MKSTREAM')
    out[1] = ST_CREATED
    out[2] = last_id()
    return out
end

if t == 'none' then
    return created()
end

if A_CLAIM_FROM ~= '' then
    local r = redis.pcall('XAUTOCLAIM', K_STREAM, A_GROUP, A_CONSUMER, A_CLAIM_IDLE, A_CLAIM_FROM,
        'COUNT', count)
    if is_nogroup(r) then
        return created()
    elseif type(r) == 'table' and r.err then
        return r
    end
    out[3] = r[1]
    for _, e in ipairs(r[2]) do
        -- An entry trimmed from the stream is no longer pending (Redis 7
        -- drops it from the list and names it in r[3]): nothing to send.
        if type(e) == 'table' and type(e[2]) == 'table' then
            add(e[1], e[2])
            out[4] = out[4] + 1
        end
    end
    count = count - out[4]
end

if count > 0 then
    local r = redis.pcall('XREADGROUP', 'GROUP', A_GROUP, A_CONSUMER, 'COUNT', count, 'STREAMS',
        K_STREAM, '>')
    if is_nogroup(r) then
        return created()
    elseif type(r) == 'table' and r.err then
        return r
    end
    if type(r) == 'table' and r[1] then
        for _, e in ipairs(r[1][2]) do
            add(e[1], e[2])
            out[5] = out[5] + 1
        end
    end
end

out[2] = last_id()
return out
