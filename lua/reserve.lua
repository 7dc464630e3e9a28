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
-- KEYS[K_FIXED+i]    {ns}:stock:<sku_i>  one per line, i = 1..n
-- KEYS[K_FIXED+n+i]  {ns}:holds:<sku_i>  its holds index (hold_member)
-- A_ID         the new reservation id
-- A_ORDER_ID   order_id, or '' for none
-- A_TTL        ttl_ms
-- A_STRATEGY   auto | single | per_line | split
-- A_MAXLEN     ledger length cap
-- A_STALE      a reservation id the order binding may still name although
--              its record is gone (its retention ended): that binding is
--              taken as absent and bound anew; '' for none
-- A_N          n, the number of lines
-- ARGV[A_FIXED+2i-1]  sku of line i;  ARGV[A_FIXED+2i]  its quantity
-- ARGV[A_FIXED+2n+1]  m, the number of requested locations (0: the channel's)
-- ARGV[A_FIXED+2n+1+j]  requested location j, in shipping-rule order
--
-- Reply: {ST_HELD, reservation...}         the hold and its allocations
--                                          (reservation_reply)
--        {ST_BOUND, bound_id}              order_id is already bound: the
--                                          caller replays that reservation
--        {ST_SHORT, sku, requested, available}  the first line that cannot
--                                          be filled; the order took
--                                          nothing (due holds on its skus
--                                          may have been given back)
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
-- An expired hold never costs a sale: when the order does not fit, the
-- allocations on its own skus whose deadline has passed are given back here
-- (each recorded in the ledger as an expiry), and the order is planned
-- again. The sweeper finishes those holds' records later; it skips what was
-- given back here. So a reserve never waits for a sweep, and its effects
-- keep their place in the order of requests.
--
-- Invariant: a hold takes at most on_hand - reserved - safety at each
-- (sku, location), so available never goes negative; every check of the
-- order is done before its first write.
local rid, order_id, ttl, strategy = A_ID, A_ORDER_ID, tonumber(A_TTL), A_STRATEGY
local maxlen = A_MAXLEN
local n = tonumber(A_N)

if order_id ~= '' then
    local bound = redis.call('GET', K_ORDER)
    if bound and bound ~= A_STALE then
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
local avail
local fields = {}
for j, loc in ipairs(cands) do
    fields[3 * j - 2], fields[3 * j - 1], fields[3 * j] = stock_fields(loc)
end
local function read_avail()
    avail = {}
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
end
read_avail()

-- Gives back every allocation on the order's skus whose deadline has
-- passed. Returns true when it gave back any.
local function release_due()
    local now, freed, done = now_ms(), false, {}
    for i = 1, n do
        local holds = KEYS[K_FIXED + n + i]
        if not done[holds] then
            done[holds] = true
            local due = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
            for _, m in ipairs(due) do
                local id, loc, q = hold_parts(m)
                local _, f_res = stock_fields(loc)
                redis.call('HINCRBY', KEYS[K_FIXED + i], f_res, -q)
                ledger(K_EVENTS, maxlen, 'expire', skus[i], loc, q, id, '')
            end
            if #due > 0 then
                redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
                freed = true
            end
        end
    end
    return freed
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

local function make_plan()
    if strategy == 'single' then
        return single()
    elseif strategy == 'per_line' then
        return per_line()
    elseif strategy == 'split' then
        return split()
    end
    return single() or per_line() or split()
end

local plan = make_plan()
if not plan and release_due() then
    read_avail()
    plan = make_plan()
end
if not plan then
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
        redis.call('ZADD', KEYS[K_FIXED + n + i], expires, hold_member(rid, #stored, loc, q))
        reply[#reply + 1] = skus[i]
        reply[#reply + 1] = loc
        reply[#reply + 1] = q
    end
end
redis.call('HSET', K_RES, 'status', 'held', 'order_id', order_id, 'created_at', int(now),
           'expires_at', int(expires), 'allocations', cjson.encode(stored), 'v', '2')
redis.call('ZADD', K_EXPIRY, expires, rid)
if order_id ~= '' then
    redis.call('SET', K_ORDER, rid)
end
return reply
