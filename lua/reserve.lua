-- reserve: take stock for every line of an order from the candidate
-- locations, in preference order, all or nothing, and record the hold.
--
-- KEYS[1]      {ns}:expiry             zset of held reservation ids by deadline
-- KEYS[2]      {ns}:res:<id>           the new reservation (a fresh 128-bit
--                                      random id: it does not exist)
-- KEYS[3]      {ns}:order:<order_id>   idempotency binding (when no order_id:
--                                      any key of the namespace, unused)
-- KEYS[4]      {ns}:channel:<channel>  the channel's ordered locations
-- KEYS[5]      {ns}:events             the ledger stream
-- KEYS[5+i]    {ns}:stock:<sku_i>      one per line, i = 1..n
-- ARGV[1]      the new reservation id
-- ARGV[2]      order_id, or '' for none
-- ARGV[3]      ttl_ms
-- ARGV[4]      strategy: auto | single | per_line | split
-- ARGV[5]      ledger length cap
-- ARGV[6]      '1' when the caller may sweep and retry on a shortage
-- ARGV[7]      n, the number of lines
-- ARGV[6+2i]   sku of line i;  ARGV[7+2i]  its quantity
-- ARGV[8+2n]   m, the number of requested locations (0: the channel's list)
-- ARGV[8+2n+j] requested location j, in shipping-rule order
--
-- Reply: {0, id, 'held', order_id, created_at, expires_at, '', 0,
--         sku, location, quantity, ...}       the hold and its allocations
--        {1, bound_id}                        order_id is already bound: the
--                                             caller replays that reservation
--        {2}                                  too little stock, but some holds
--                                             are past their deadline: the
--                                             caller sweeps them and retries
--                                             (only when ARGV[6] is '1')
--        {1001, sku, requested, available}    the first line that cannot be
--                                             filled; nothing written
--        {1005}                               unknown channel, no locations
--
-- Candidates: the requested locations filtered to the channel's (keeping the
-- request's order) when the channel is configured, the requested locations
-- as they are when it is not, else the channel's list.
-- Strategies: single = the first candidate that fills every line; per_line =
-- each line from the first candidate that fills it; split = each line
-- greedily across candidates in order; auto = single, else per_line, else
-- split. 'available' in a 1001 reply is measured the way the strategy fills
-- a line: at the most preferred candidate (single), at the best single
-- candidate (per_line), summed over candidates (split, auto).
--
-- Invariant: a hold takes at most on_hand - reserved - safety at each
-- (sku, location), so available never goes negative; every check is done
-- before the first write.
local rid, order_id, ttl, strategy = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local maxlen, may_sweep = ARGV[5], ARGV[6] == '1'
local n = tonumber(ARGV[7])

if order_id ~= '' then
    local bound = redis.call('GET', KEYS[3])
    if bound then
        return {1, bound}
    end
end

local skus, qty = {}, {}
for i = 1, n do
    skus[i] = ARGV[6 + 2 * i]
    qty[i] = tonumber(ARGV[7 + 2 * i])
end

local m = tonumber(ARGV[8 + 2 * n])
local channel = redis.call('LRANGE', KEYS[4], 0, -1)
local cands = {}
if m > 0 then
    local allowed = nil
    if #channel > 0 then
        allowed = {}
        for _, loc in ipairs(channel) do
            allowed[loc] = true
        end
    end
    for j = 1, m do
        local loc = ARGV[8 + 2 * n + j]
        if allowed == nil or allowed[loc] then
            cands[#cands + 1] = loc
        end
    end
elseif #channel == 0 then
    return {1005}
else
    cands = channel
end
if #cands == 0 then
    return {1001, skus[1], qty[1], 0}
end

-- avail[i][j]: what line i may take at candidate j.
local k = #cands
local avail = {}
local fields = {}
for j, loc in ipairs(cands) do
    fields[3 * j - 2] = loc .. ':on_hand'
    fields[3 * j - 1] = loc .. ':reserved'
    fields[3 * j] = loc .. ':safety'
end
for i = 1, n do
    local v = redis.call('HMGET', KEYS[5 + i], unpack(fields))
    local row = {}
    for j = 1, k do
        local a = (tonumber(v[3 * j - 2]) or 0) - (tonumber(v[3 * j - 1]) or 0) -
                      (tonumber(v[3 * j]) or 0)
        row[j] = a > 0 and a or 0
    end
    avail[i] = row
end

-- Each plan is plan[i] = {{candidate, quantity}, ...}, or nil when it fails.
local function single()
    for j = 1, k do
        local fits = true
        for i = 1, n do
            if avail[i][j] < qty[i] then
                fits = false
                break
            end
        end
        if fits then
            local plan = {}
            for i = 1, n do
                plan[i] = {{j, qty[i]}}
            end
            return plan
        end
    end
    return nil
end

local function per_line()
    local plan = {}
    for i = 1, n do
        for j = 1, k do
            if avail[i][j] >= qty[i] then
                plan[i] = {{j, qty[i]}}
                break
            end
        end
        if not plan[i] then
            return nil
        end
    end
    return plan
end

local function split()
    local plan = {}
    for i = 1, n do
        local need, parts = qty[i], {}
        for j = 1, k do
            if need == 0 then
                break
            end
            local take = math.min(need, avail[i][j])
            if take > 0 then
                parts[#parts + 1] = {j, take}
                need = need - take
            end
        end
        if need > 0 then
            return nil
        end
        plan[i] = parts
    end
    return plan
end

local plan
if strategy == 'single' then
    plan = single()
elseif strategy == 'per_line' then
    plan = per_line()
elseif strategy == 'split' then
    plan = split()
else
    plan = single() or per_line() or split()
end

if not plan then
    -- An expired hold must never cost a sale: when holds are past their
    -- deadline, let the caller release them (their keys are not in KEYS)
    -- and ask again.
    if may_sweep and #redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, 1) > 0 then
        return {2}
    end
    for i = 1, n do
        local have = 0
        for j = 1, k do
            local a = avail[i][j]
            if strategy == 'single' then
                have = avail[i][1]
                break
            elseif strategy == 'per_line' then
                if a > have then
                    have = a
                end
            else
                have = have + a
            end
        end
        if have < qty[i] then
            return {1001, skus[i], qty[i], have}
        end
    end
    return {1001, skus[1], qty[1], 0}
end

local now = now_ms()
local expires = now + ttl

local reply = {0, rid, 'held', order_id, now, expires, '', 0}
local stored = {}
for i = 1, n do
    for _, part in ipairs(plan[i]) do
        local loc, q = cands[part[1]], part[2]
        redis.call('HINCRBY', KEYS[5 + i], loc .. ':reserved', q)
        ledger(KEYS[5], maxlen, 'reserve', skus[i], loc, q, rid, '')
        stored[#stored + 1] = {skus[i], loc, q}
        reply[#reply + 1] = skus[i]
        reply[#reply + 1] = loc
        reply[#reply + 1] = q
    end
end
redis.call('HSET', KEYS[2], 'status', 'held', 'order_id', order_id, 'created_at', int(now),
           'expires_at', int(expires), 'allocations', cjson.encode(stored))
redis.call('ZADD', KEYS[1], expires, rid)
if order_id ~= '' then
    redis.call('SET', KEYS[3], rid)
end
return reply
