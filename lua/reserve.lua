-- reserve: take stock for every line of an order from the candidate
-- locations, in preference order, all or nothing, and record the hold.
-- Contract: include/reserve.h.
--
-- K_EXPIRY     {ns}:expiry             zset of held reservation ids by deadline
-- K_RES        {ns}:res:<id>           the new reservation (a fresh 128-bit
--                                      random id: it does not exist)
-- K_ORDER      {ns}:order:<order_id>   idempotency binding (when no order_id:
--                                      the new reservation's key, unused)
-- K_CHANNEL    {ns}:channel:<channel>  the channel's ordered locations
-- K_EVENTS     {ns}:events             the ledger stream
-- KEYS[K_FIXED+i]  {ns}:stock:<sku_i>  one per line, i = 1..n
-- A_ID         the new reservation id
-- A_ORDER_ID   order_id, or '' for none
-- A_TTL        ttl_ms
-- A_STRATEGY   auto | single | per_line | split
-- A_MAXLEN     ledger length cap
-- A_MAY_SWEEP  '1' when the caller may sweep and retry on a shortage
-- A_N          n, the number of lines
-- ARGV[A_FIXED+2i-1]  sku of line i;  ARGV[A_FIXED+2i]  its quantity
-- ARGV[A_FIXED+2n+1]  m, the number of requested locations (0: the channel's)
-- ARGV[A_FIXED+2n+1+j]  requested location j, in shipping-rule order
--
-- Reply: {ST_HELD, reservation...}         the hold and its allocations
--                                          (reservation_reply)
--        {ST_BOUND, bound_id}              order_id is already bound: the
--                                          caller replays that reservation
--        {ST_SWEEP}                        too little stock, but some holds
--                                          are past their deadline: the
--                                          caller sweeps them and retries
--                                          (only when A_MAY_SWEEP is '1')
--        {ST_SHORT, sku, requested, available}  the first line that cannot
--                                          be filled; nothing written
--        {ST_NO_CHANNEL}                   unknown channel, no locations
--
-- Candidates: the requested locations filtered to the channel's (keeping the
-- request's order) when the channel is configured, the requested locations
-- as they are when it is not, else the channel's list.
-- Strategies: single = the first candidate that fills every line; per_line =
-- each line from the first candidate that fills it; split = each line
-- greedily across candidates in order; auto = single, else per_line, else
-- split. 'available' in a ST_SHORT reply is measured the way the strategy
-- fills a line: at the most preferred candidate (single), at the best single
-- candidate (per_line), summed over candidates (split, auto).
--
-- Invariant: a hold takes at most on_hand - reserved - safety at each
-- (sku, location), so available never goes negative; every check is done
-- before the first write.
local rid, order_id, ttl, strategy = A_ID, A_ORDER_ID, tonumber(A_TTL), A_STRATEGY
local maxlen, may_sweep = A_MAXLEN, A_MAY_SWEEP == '1'
local n = tonumber(A_N)

if order_id ~= '' then
    local bound = redis.call('GET', K_ORDER)
    if bound then
        return {ST_BOUND, bound}
    end
end

local skus, qty = {}, {}
for i = 1, n do
    skus[i] = ARGV[A_FIXED + 2 * i - 1]
    qty[i] = tonumber(ARGV[A_FIXED + 2 * i])
end

local m = tonumber(ARGV[A_FIXED + 2 * n + 1])
local channel = redis.call('LRANGE', K_CHANNEL, 0, -1)
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
        local loc = ARGV[A_FIXED + 2 * n + 1 + j]
        if allowed == nil or allowed[loc] then
            cands[#cands + 1] = loc
        end
    end
elseif #channel == 0 then
    return {ST_NO_CHANNEL}
else
    cands = channel
end
if #cands == 0 then
    return {ST_SHORT, skus[1], qty[1], 0}
end

-- avail[i][j]: what line i may take at candidate j.
local k = #cands
local avail = {}
local fields = {}
for j, loc in ipairs(cands) do
    fields[3 * j - 2], fields[3 * j - 1], fields[3 * j] = stock_fields(loc)
end
for i = 1, n do
    local v = redis.call('HMGET', KEYS[K_FIXED + i], unpack(fields))
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
    if may_sweep and #redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', now_ms(), 'LIMIT', 0, 1) > 0 then
        return {ST_SWEEP}
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
            return {ST_SHORT, skus[i], qty[i], have}
        end
    end
    return {ST_SHORT, skus[1], qty[1], 0}
end

local now = now_ms()
local expires = now + ttl

local reply = {ST_HELD, rid, 'held', order_id, now, expires, ''}
local stored = {}
for i = 1, n do
    for _, part in ipairs(plan[i]) do
        local loc, q = cands[part[1]], part[2]
        redis.call('HINCRBY', KEYS[K_FIXED + i], fields[3 * part[1] - 1], q) -- its reserved
        ledger(K_EVENTS, maxlen, 'reserve', skus[i], loc, q, rid, '')
        stored[#stored + 1] = {skus[i], loc, q}
        reply[#reply + 1] = skus[i]
        reply[#reply + 1] = loc
        reply[#reply + 1] = q
    end
end
redis.call('HSET', K_RES, 'status', 'held', 'order_id', order_id, 'created_at', int(now),
           'expires_at', int(expires), 'allocations', cjson.encode(stored))
redis.call('ZADD', K_EXPIRY, expires, rid)
if order_id ~= '' then
    redis.call('SET', K_ORDER, rid)
end
return reply
