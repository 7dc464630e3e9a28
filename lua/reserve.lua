-- reserve: a batch of orders, handled one after another; each takes stock
-- for every line from the candidate locations, in preference order, all or
-- nothing, and records its hold. Contract: include/reserve.h.
--
-- Shared by the batch:
-- K_EXPIRY     {ns}:expiry             zset of held reservation ids by deadline
-- K_EVENTS     {ns}:events             the ledger stream
-- A_MAXLEN     ledger length cap
-- Each order's segment of KEYS, from kb:
-- EK_RES       {ns}:res:<id>           the new reservation (a fresh 128-bit
--                                      random id: it does not exist)
-- EK_ORDER     {ns}:order:<order_id>   idempotency binding (when no order_id:
--                                      the new reservation's key, unused)
-- EK_CHANNEL   {ns}:channel:<channel>  the channel's ordered locations
-- then {ns}:stock:<sku_i> for i = 1..n, then {ns}:holds:<sku_i> (hold_member)
-- Its segment of ARGV, from ab:
-- EA_ID        the new reservation id
-- EA_ORDER_ID  order_id, or '' for none
-- EA_TTL       ttl_ms
-- EA_STRATEGY  auto | single | per_line | split
-- EA_STALE     a reservation id the order binding may still name although
--              its record is gone (its retention ended): that binding is
--              taken as absent and bound anew; '' for none
-- EA_N         n, the number of lines
-- then sku and quantity of each line, then m, the number of requested
-- locations (0: the channel's), then the m locations in shipping-rule order.
--
-- Reply: one element per order, in order:
--   {ST_HELD, reservation...}          the hold and its allocations
--                                      (reservation_reply)
--   {ST_BOUND, bound_id}               order_id is already bound: the
--                                      caller replays that reservation
--   {ST_SHORT, sku, requested, available}  the first line that cannot be
--                                      filled; the order took nothing (due
--                                      holds on its skus may have been
--                                      given back)
--   {ST_NO_CHANNEL}                    unknown channel, no locations
--   {ST_BROKEN, why}                   a key or field of the order is not
--                                      what stockd writes there: the order
--                                      took nothing
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
-- An expired hold never costs a sale: when an order does not fit, the
-- allocations on its own skus whose deadline has passed are given back here
-- (each recorded in the ledger as an expiry), and the order is planned
-- again. The sweeper finishes those holds' records later; it skips what was
-- given back here. So a reserve never waits for a sweep.
--
-- Invariants: a hold takes at most on_hand - reserved - safety at each
-- (sku, location), so available never goes negative. Orders are
-- independent: each order reads and plans first, inside pcall, so that an
-- error (a key of the wrong type) fails that order alone before it wrote
-- anything; its writes then cannot fail (the fields it increments were
-- read as integers, the shared keys' types are checked once per batch, and
-- the first write, the holds index entry, is undone if its key turns out
-- to be of another type). The only error that ends the whole batch is
-- Redis's out-of-memory refusal, which comes before the batch's first
-- write or not at all.
local maxlen = A_MAXLEN
local now = now_ms()

-- Whole numbers as text, each formatted once per batch (a number turned
-- into text costs a printf; the orders of a batch share most of them).
local texts = {}
local function text(n)
    local t = texts[n]
    if not t then
        t = int(n)
        texts[n] = t
    end
    return t
end

-- The stock_fields of each location seen in this batch.
local field_cache = {}
local function fields_of(loc)
    local f = field_cache[loc]
    if not f then
        f = {stock_fields(loc)}
        field_cache[loc] = f
    end
    return f
end

local function is_int(v)
    return not v or string.find(v, '^%-?%d+$') ~= nil
end

-- Plans: plan[i] = {j1, q1, j2, q2, ...} (candidate j, quantity q), or nil.
local function single(avail, qty, n, k)
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
                plan[i] = {j, qty[i]}
            end
            return plan
        end
    end
    return nil
end

local function per_line(avail, qty, n, k)
    local plan = {}
    for i = 1, n do
        for j = 1, k do
            if avail[i][j] >= qty[i] then
                plan[i] = {j, qty[i]}
                break
            end
        end
        if not plan[i] then
            return nil
        end
    end
    return plan
end

local function split(avail, qty, n, k)
    local plan = {}
    for i = 1, n do
        local need, parts, row = qty[i], {}, avail[i]
        for j = 1, k do
            local take = row[j] < need and row[j] or need
            if take > 0 then
                parts[#parts + 1] = j
                parts[#parts + 1] = take
                need = need - take
                if need == 0 then
                    break
                end
            end
        end
        if need > 0 then
            return nil
        end
        plan[i] = parts
    end
    return plan
end

local function make_plan(strategy, avail, qty, n, k)
    if strategy == 'single' then
        return single(avail, qty, n, k)
    elseif strategy == 'per_line' then
        return per_line(avail, qty, n, k)
    elseif strategy == 'split' then
        return split(avail, qty, n, k)
    end
    return single(avail, qty, n, k) or per_line(avail, qty, n, k) or split(avail, qty, n, k)
end

-- The ST_SHORT reply for an order no plan fits.
local function short(strategy, avail, qty, skus, n, k)
    for i = 1, n do
        local have, row = 0, avail[i]
        for j = 1, k do
            local a = row[j]
            if strategy == 'single' then
                have = row[1]
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

-- The allocations on the order's skus whose deadline has passed:
-- {holds key, stock key, sku, member...} per sku that has any. Adds what
-- they hold at a candidate back to avail.
local function find_due(kb, n, skus, cands, avail)
    local found, seen = nil, {}
    for i = 1, n do
        local holds = KEYS[kb + EK_FIXED + n + i - 1]
        if not seen[holds] then
            seen[holds] = true
            local due = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
            if #due > 0 then
                local stock = KEYS[kb + EK_FIXED + i - 1]
                for _, member in ipairs(due) do
                    local _, loc, q = hold_parts(member)
                    if not is_int(redis.call('HGET', stock, fields_of(loc)[2])) then
                        error('the reserved units of ' .. skus[i] .. ' at ' .. loc ..
                                  ' are not a whole number')
                    end
                    for l = 1, n do
                        if skus[l] == skus[i] then
                            for j, c in ipairs(cands) do
                                if c == loc then
                                    avail[l][j] = avail[l][j] + q
                                end
                            end
                        end
                    end
                end
                found = found or {}
                found[#found + 1] = {holds, stock, skus[i], due}
            end
        end
    end
    return found
end

-- The locations of each channel read in this batch, with their
-- stock_fields in HMGET order: {locations, fields}.
local channels = {}

-- The fields to HMGET for candidates cands.
local function names_of(cands)
    local names = {}
    for j = 1, #cands do
        local f = fields_of(cands[j])
        names[3 * j - 2], names[3 * j - 1], names[3 * j] = f[1], f[2], f[3]
    end
    return names
end

-- Reads and plans one order; writes nothing. Returns its reply when it
-- takes nothing; else nil, then the plan, its candidates and skus. The due
-- allocations to give back come last, either way.
local function plan_order(kb, ab, n, m)
    if ARGV[ab + EA_ORDER_ID] ~= '' then
        local bound = redis.call('GET', KEYS[kb + EK_ORDER])
        if bound and bound ~= ARGV[ab + EA_STALE] then
            return {ST_BOUND, bound}
        end
    end
    local skus, qty = {}, {}
    local lines = ab + EA_FIXED
    for i = 1, n do
        skus[i] = ARGV[lines + 2 * i - 2]
        qty[i] = tonumber(ARGV[lines + 2 * i - 1])
    end
    local ckey = KEYS[kb + EK_CHANNEL]
    local ch = channels[ckey]
    if not ch then
        local list = redis.call('LRANGE', ckey, 0, -1)
        ch = {list, names_of(list)}
        channels[ckey] = ch
    end
    local channel, cands, names = ch[1], ch[1], ch[2]
    if m > 0 then
        local at = lines + 2 * n
        cands = {}
        if #channel > 0 then
            for j = 1, m do
                local loc = ARGV[at + j]
                for _, c in ipairs(channel) do
                    if c == loc then
                        cands[#cands + 1] = loc
                        break
                    end
                end
            end
        else
            for j = 1, m do
                cands[j] = ARGV[at + j]
            end
        end
        names = names_of(cands)
    elseif #channel == 0 then
        return {ST_NO_CHANNEL}
    end
    local k = #cands
    if k == 0 then
        return {ST_SHORT, skus[1], qty[1], 0}
    end

    -- avail[i][j]: what line i may take at candidate j; vals[i] the fields.
    local avail, vals = {}, {}
    for i = 1, n do
        local v = redis.call('HMGET', KEYS[kb + EK_FIXED + i - 1], unpack(names))
        local row = {}
        for j = 1, k do
            local a = (tonumber(v[3 * j - 2]) or 0) - (tonumber(v[3 * j - 1]) or 0) -
                          (tonumber(v[3 * j]) or 0)
            row[j] = a > 0 and a or 0
        end
        avail[i], vals[i] = row, v
    end
    local strategy = ARGV[ab + EA_STRATEGY]
    local plan = make_plan(strategy, avail, qty, n, k)
    local due = nil
    if not plan then
        due = find_due(kb, n, skus, cands, avail)
        if due then
            plan = make_plan(strategy, avail, qty, n, k)
        end
        if not plan then
            return short(strategy, avail, qty, skus, n, k), nil, nil, nil, due
        end
    end
    for i = 1, n do
        local p = plan[i]
        for x = 1, #p, 2 do
            if not is_int(vals[i][3 * p[x] - 1]) then
                error('the reserved units of ' .. skus[i] .. ' at ' .. cands[p[x]] ..
                          ' are not a whole number')
            end
        end
    end
    return nil, plan, cands, skus, due
end

-- Gives back the due allocations plan_order found.
local function give_back(due)
    for _, d in ipairs(due) do
        local holds, stock, sku, members = d[1], d[2], d[3], d[4]
        for _, member in ipairs(members) do
            local id, loc, q = hold_parts(member)
            redis.call('HINCRBY', stock, fields_of(loc)[2], -q)
            ledger(K_EVENTS, maxlen, 'expire', sku, loc, q, id, '')
        end
        redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
    end
end

-- Records the hold that plan_order planned. Returns its reply.
local function hold(kb, ab, n, plan, cands, skus)
    local rid, order_id = ARGV[ab + EA_ID], ARGV[ab + EA_ORDER_ID]
    local expires = now + tonumber(ARGV[ab + EA_TTL])
    local expires_t = text(expires)
    -- First the holds index entries: the only writes that can fail (a key
    -- of another type), undone then, so that the order takes nothing.
    local added, count = nil, 0
    for i = 1, n do
        local parts, holds = plan[i], KEYS[kb + EK_FIXED + n + i - 1]
        for x = 1, #parts, 2 do
            count = count + 1
            local member = hold_member(rid, text(count), cands[parts[x]], text(parts[x + 1]))
            local r = redis.pcall('ZADD', holds, expires_t, member)
            if type(r) == 'table' and r.err then
                if string.find(r.err, '^OOM') then
                    error(r) -- before the batch's first write: the batch did nothing
                end
                for a = 1, added and #added or 0, 2 do
                    redis.call('ZREM', added[a], added[a + 1])
                end
                return {ST_BROKEN, 'the holds index of ' .. skus[i] .. ': ' .. r.err}
            end
            added = added or {}
            added[#added + 1] = holds
            added[#added + 1] = member
        end
    end
    -- The allocations as JSON, [[sku, location, quantity], ...], built as
    -- text: identifiers need no escaping.
    local reply, json = {ST_HELD, rid, 'held', order_id, now, expires, ''}, '['
    for i = 1, n do
        local parts, stock, sku = plan[i], KEYS[kb + EK_FIXED + i - 1], skus[i]
        for x = 1, #parts, 2 do
            local loc, q = cands[parts[x]], parts[x + 1]
            local qt = text(q)
            redis.call('HINCRBY', stock, fields_of(loc)[2], qt)
            ledger(K_EVENTS, maxlen, 'reserve', sku, loc, qt, rid, '')
            json = json .. (#reply > 7 and ',["' or '["') .. sku .. '","' .. loc .. '",' .. qt .. ']'
            reply[#reply + 1] = sku
            reply[#reply + 1] = loc
            reply[#reply + 1] = q
        end
    end
    redis.call('HSET', KEYS[kb + EK_RES], 'status', 'held', 'order_id', order_id, 'created_at',
               text(now), 'expires_at', expires_t, 'allocations', json .. ']', 'v', '2')
    redis.call('ZADD', K_EXPIRY, expires_t, rid)
    if order_id ~= '' then
        redis.call('SET', KEYS[kb + EK_ORDER], rid)
    end
    return reply
end

-- The shared keys, once: a write to one of another type would fail after
-- the batch's first write.
local bad_shared = nil
for _, s in ipairs({{K_EVENTS, 'stream'}, {K_EXPIRY, 'zset'}}) do
    local t = redis.call('TYPE', s[1]).ok
    if t ~= 'none' and t ~= s[2] then
        bad_shared = {ST_BROKEN, s[1] .. ' is a ' .. t .. ', not a ' .. s[2]}
    end
end

local out = {}
local kb, ab = K_FIXED + 1, A_FIXED + 1
while ab <= #ARGV do
    local n = tonumber(ARGV[ab + EA_N])
    local m = tonumber(ARGV[ab + EA_FIXED + 2 * n])
    local reply = bad_shared
    if not reply then
        local ok, r, plan, cands, skus, due = pcall(plan_order, kb, ab, n, m)
        if not ok then
            reply = {ST_BROKEN, type(r) == 'table' and (r.err or '?') or tostring(r)}
        else
            if due then
                give_back(due)
            end
            reply = r or hold(kb, ab, n, plan, cands, skus)
        end
    end
    out[#out + 1] = reply
    kb = kb + EK_FIXED + 2 * n
    ab = ab + EA_FIXED + 2 * n + 1 + m
end
return out
