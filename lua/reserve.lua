-- reserve: a batch of orders, handled one after another; each takes stock
-- for every line from the candidate locations, in preference order, all or
-- nothing, and records its hold. Contract: include/reserve.h.
--
-- Shared by the batch:
-- K_DUE        {ns}:due                zset of skus with holds, each scored
--                                      no later than its earliest deadline
-- K_EVENTS     {ns}:events             the ledger stream
-- K_LOCATIONS  {ns}:locations          hash: location -> its ranking entry
--                                      (location_set.lua, lua/lib/routing.lua)
-- K_STOCK_EVENTS  {ns}:stock-events    the stock-level events (stock_events)
-- A_MAXLEN     ledger length cap (the stock events' too)
-- Each order's segment of KEYS, from kb:
-- EK_RES       {ns}:res:<id>           the new reservation (a fresh 128-bit
--                                      random id: it does not exist)
-- EK_ORDER     {ns}:order:<order_id>   idempotency binding (when no order_id:
--                                      the new reservation's key, unused)
-- EK_CHANNEL   {ns}:channel:<channel>  the channel's ordered locations
-- EK_RULES     {ns}:rules:<channel>    the channel's ranking rules
-- then {ns}:stock:<sku_i> for i = 1..n, then {ns}:holds:<sku_i> (hold_member)
-- Its segment of ARGV, from ab:
-- EA_ID        the new reservation id
-- EA_ORDER_ID  order_id, or '' for none
-- EA_TTL       ttl_ms
-- EA_STRATEGY  auto | single | per_line | split
-- EA_STALE     a reservation id the order binding may still name although
--              its record is gone (its retention ended): that binding is
--              taken as absent and bound anew; '' for none
-- EA_ROUTE     '' (no destination, no max_distance_km, no explain), or
--              the route as stockd packs it (include/route.h)
-- EA_FLAGS     HOLD_BACKORDER (allow_backorder) + HOLD_PARTIAL
--              (allow_partial), include/result.h
-- EA_CHANNEL   the channel's name (kept in the record)
-- EA_N         n, the number of lines
-- then sku and quantity of each line, then m, the number of requested
-- locations (0: the channel's), then the m locations in shipping-rule order.
--
-- Reply: one element per order, in order:
--   {ST_HELD, x, explain..., reservation...}  the hold and its allocations
--                                      (reservation_reply), after x groups
--                                      of explain: location, distance_km
--                                      (text, '' for none), zone ('' for
--                                      none), priority; x is 0 unless the
--                                      order asked to explain
--   {ST_BOUND, bound_id}               order_id is already bound: the
--                                      caller replays that reservation
--   {ST_SHORT, sku, requested, available, x, explain...}  the first line
--                                      that cannot be filled; the order
--                                      took nothing (due holds on its skus
--                                      may have been given back)
--   {ST_NO_CHANNEL}                    unknown channel, no locations
--   {ST_BROKEN, why}                   a key or field of the order is not
--                                      what stockd writes there: the order
--                                      took nothing
--
-- Candidates: the requested locations filtered to the channel's (keeping the
-- request's order) when the channel is configured, the requested locations
-- as they are when it is not, else the channel's list. Then ranked by the
-- channel's rules for the order's destination, leaving out those beyond
-- max_distance_km (lua/lib/routing.lua): every order is ranked and filled
-- in the same step, so no order is filled from a farther location while a
-- nearer one the rules prefer could fill it. When the most preferred
-- candidate can fill every line, that is every strategy's plan: the rest
-- is neither ranked nor read.
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
-- Stock levels: each allocation taken, and each due allocation given back
-- (cause expire, with its own reservation id), that takes a location's
-- available through its low-stock threshold (<loc>:low_stock, read with
-- the other fields of the location) or through 0 appends the entries of
-- stock_events, in the order the changes are made; a change that crosses
-- nothing costs no more than its arithmetic.
--
-- Backorders: with HOLD_BACKORDER a line may take at a location up to
-- available + its backorder limit (<loc>:backorder), so available goes
-- down to -limit, never lower; each allocation records how many of its
-- units available stock did not cover. Partial holds: with HOLD_PARTIAL an
-- order no plan fills takes what partial_plan (lua/lib/plan.lua) finds,
-- if that is a unit at least, and records its shortages.
--
-- Invariants: a hold takes at most on_hand - reserved - safety (plus the
-- backorder limit when it allows backorders) at each (sku, location), so
-- available never goes below -limit, nor below 0 without backorders. Orders are
-- independent: each order reads and plans first, inside pcall, so that an
-- error (a key of the wrong type, a reserved count that is not a whole
-- number) fails that order alone before it wrote anything.
--
-- The batch reads each stock field once and keeps what its orders did to
-- it (reserved, as read plus the holds taken and given back so far), so
-- each order plans on the stock as the orders before it left it. Writes
-- that many orders share are made once, at the end: one HSET per stock
-- key of the reserved fields whose count changed (their new counts: the
-- script read them and nothing else runs meanwhile, so this is the
-- orders' HINCRBYs in one call), one ZADD per holds index and one for the
-- due index; an order's own writes (its record, binding, ledger entries
-- and stock-level events with their <loc>:event fields) are made when it
-- is planned. None of them can fail: the reserved fields were read as
-- whole numbers, and every key written was found of the right type (or
-- absent) before the order that first writes it wrote anything (the
-- streams and the due index before the first order). The only error that
-- ends the whole batch is Redis's out-of-memory refusal, which comes
-- before the batch's first write or not at all.
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

-- The fields of each location seen in this batch: its stock_fields and
-- its low-stock threshold; the reserved ones among them (the only counts
-- a reserve writes), and the thresholds.
local field_cache, reserved_field, low_field = {}, {}, {}
local function fields_of(loc)
    local f = field_cache[loc]
    if not f then
        local on, res, saf = stock_fields(loc)
        local _, low = backorder_fields(loc)
        f = {on, res, saf, low}
        field_cache[loc], reserved_field[res], low_field[low] = f, true, true
    end
    return f
end

-- The same with the backorder limit field too, for orders that allow it.
local bo_cache = {}
local function fields_bo(loc)
    local f = bo_cache[loc]
    if not f then
        local s = fields_of(loc)
        f = {s[1], s[2], s[3], s[4], (backorder_fields(loc))}
        bo_cache[loc] = f
    end
    return f
end

-- What a line may take at a location from its cached stock fields f
-- (fields_of, or fields_bo for an order that allows backorders).
local function can_take(c, f)
    local a = c[f[1]] - c[f[2]] - c[f[3]]
    if f[5] then
        a = a + c[f[5]]
    end
    return a
end

local function is_int(v)
    return not v or string.find(v, '^%-?%d+$') ~= nil
end

-- The stock fields this batch has read: stock[key][field] = the number, as
-- the orders so far left it (a threshold: low_threshold, false for none);
-- broken[key][field] when a reserved field is not a whole number. The
-- changes of reserved to write at the end: delta[key][field], their keys
-- in first-touch order in touched.
local stock, broken, delta, touched = {}, {}, {}, {}

-- Reads the fields of names that key's cache lacks.
local function read_stock(key, names)
    local c = stock[key]
    if not c then
        c = {}
        stock[key], broken[key] = c, {}
    end
    local missing = nil
    for _, f in ipairs(names) do
        if c[f] == nil then
            missing = missing or {}
            missing[#missing + 1] = f
        end
    end
    if missing then
        local v = redis.call('HMGET', key, unpack(missing))
        for i, f in ipairs(missing) do
            if low_field[f] then
                c[f] = low_threshold(v[i]) or false
            else
                c[f] = tonumber(v[i]) or 0
                if reserved_field[f] and not is_int(v[i]) then
                    broken[key][f] = true
                end
            end
        end
    end
    return c
end

-- Changes the reserved field f of key (read, and found a whole number)
-- by q, in the cache now and in Redis at the end.
local function reserve_change(key, f, q)
    stock[key][f] = stock[key][f] + q
    local d = delta[key]
    if not d then
        d = {}
        delta[key] = d
        touched[#touched + 1] = key
    end
    d[f] = (d[f] or 0) + q
end

-- The holds index entries to add at the end, {score, member, ...} per key,
-- keys in first-use order; each key's type is checked at its first use.
-- due_at[sku]: the earliest deadline of the batch's holds on it.
local adds, add_keys, due_at, due_skus = {}, {}, {}, {}
local function check_holds(key)
    if not adds[key] then
        local t = redis.call('TYPE', key).ok
        if t ~= 'none' and t ~= 'zset' then
            error('the holds index ' .. key .. ' is a ' .. t)
        end
        adds[key] = {}
        add_keys[#add_keys + 1] = key
    end
end

-- ZADD [flag] of {score, member, ...}, in chunks that fit Lua's stack.
local function zadd_all(key, flag, list)
    for from = 1, #list, 1000 do
        local last = math.min(from + 999, #list)
        if flag then
            redis.call('ZADD', key, flag, unpack(list, from, last))
        else
            redis.call('ZADD', key, unpack(list, from, last))
        end
    end
end

-- The allocations on the order's skus whose deadline has passed:
-- {holds key, stock key, sku, member...} per sku that has any. Adds what
-- they hold at a candidate back to have (what each line may take, not
-- clamped at 0: units given back where available is below 0 only bring
-- it up toward 0).
local function find_due(kb, n, skus, cands, have)
    local found, seen = nil, {}
    for i = 1, n do
        local holds = KEYS[kb + EK_FIXED + n + i - 1]
        if not seen[holds] then
            seen[holds] = true
            local due = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
            if #due > 0 then
                local key = KEYS[kb + EK_FIXED + i - 1]
                for _, member in ipairs(due) do
                    local _, loc, q = hold_parts(member)
                    local fl = fields_of(loc)
                    local f = fl[2]
                    read_stock(key, fl)
                    if broken[key][f] then
                        error('the reserved units of ' .. skus[i] .. ' at ' .. loc ..
                                  ' are not a whole number')
                    end
                    for l = 1, n do
                        if skus[l] == skus[i] then
                            for j, c in ipairs(cands) do
                                if c == loc then
                                    have[l][j] = have[l][j] + q
                                end
                            end
                        end
                    end
                end
                found = found or {}
                found[#found + 1] = {holds, key, skus[i], due}
            end
        end
    end
    return found
end

-- The locations of each channel read in this batch: {locations, their
-- stock_fields in HMGET order, what the ranking needs of them
-- (read_locations)}, the last two made when first needed; the rules of
-- each channel (a list).
local channels, channel_rules = {}, {}

-- Appends to reply the number of explain groups, then the groups.
local function with_explain(reply, explain)
    reply[#reply + 1] = explain and #explain / 4 or 0
    for _, v in ipairs(explain or {}) do
        reply[#reply + 1] = v
    end
    return reply
end

-- A copy of rows with every value below 0 taken as 0.
local function clamped(rows)
    local out = {}
    for i, row in ipairs(rows) do
        local r = {}
        for j, a in ipairs(row) do
            r[j] = a > 0 and a or 0
        end
        out[i] = r
    end
    return out
end

-- The fields to HMGET for candidates cands (with their backorder limits
-- when bo).
local function names_of(cands, bo)
    local names = {}
    for j = 1, #cands do
        for _, name in ipairs(bo and fields_bo(cands[j]) or fields_of(cands[j])) do
            names[#names + 1] = name
        end
    end
    return names
end

-- The order's candidates, in channel order, and the channel's entry in
-- channels when they are its list (false when the request named them);
-- or nil and the reply when the channel is unknown.
local function candidates(kb, ab, n, m)
    local ckey = KEYS[kb + EK_CHANNEL]
    local ch = channels[ckey]
    if not ch then
        ch = {redis.call('LRANGE', ckey, 0, -1), false}
        channels[ckey] = ch
    end
    local channel = ch[1]
    if m == 0 then
        if #channel == 0 then
            return nil, {ST_NO_CHANNEL}
        end
        return channel, ch
    end
    local at, cands = ab + EA_FIXED + 2 * n, {}
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
    return cands, false
end

-- The plan that takes every line from the one candidate loc, when it can
-- fill them all: what every strategy plans when the most preferred
-- candidate can (single and auto take it; per_line and split take each
-- line from it). Reads only that candidate's stock fields.
local function plan_at(kb, n, qty, loc, bo)
    local f = bo and fields_bo(loc) or fields_of(loc)
    local f1, f2, f3 = f[1], f[2], f[3]
    for i = 1, n do
        local c = read_stock(KEYS[kb + EK_FIXED + i - 1], f)
        if (bo and can_take(c, f) or c[f1] - c[f2] - c[f3]) < qty[i] then
            return nil
        end
    end
    local plan = {}
    for i = 1, n do
        plan[i] = {1, qty[i]}
    end
    return plan
end

-- Reads and plans one order; writes nothing. Returns its reply when it
-- takes nothing; else nil, then the plan, its candidates and skus. The due
-- allocations to give back come next, either way, then the explain list
-- when the order asked for it.
local function plan_order(kb, ab, n, m)
    if ARGV[ab + EA_ORDER_ID] ~= '' then
        local bound = redis.call('GET', KEYS[kb + EK_ORDER])
        if bound and bound ~= ARGV[ab + EA_STALE] then
            -- A replay: rewritten as it is, so that a WAIT covers the
            -- binding (confirm_state in lua/lib/common.lua).
            redis.call('SET', KEYS[kb + EK_ORDER], bound, 'KEEPTTL')
            return {ST_BOUND, bound}
        end
    end
    local skus, qty = {}, {}
    local lines = ab + EA_FIXED
    for i = 1, n do
        skus[i] = ARGV[lines + 2 * i - 2]
        qty[i] = tonumber(ARGV[lines + 2 * i - 1])
    end
    local cands, ch = candidates(kb, ab, n, m)
    if not cands then
        return ch
    end

    -- Ranked by the channel's rules for the order's route (r, codes), or
    -- in channel order (r is nil).
    local rkey, route, r, codes, g = KEYS[kb + EK_RULES], ARGV[ab + EA_ROUTE], nil, nil, nil
    local rules = channel_rules[rkey]
    if not rules then
        rules = rules_list(redis.call('GET', rkey))
        channel_rules[rkey] = rules
    end
    if #rules > 0 or route ~= '' then
        r = parse_route(route)
        codes = rule_codes(rules, r)
        if #codes == 0 and not r.chord2 and not r.explain then
            r = nil
        end
    end
    if r then
        g = ch and ch[3] or read_locations(K_LOCATIONS, cands)
        if ch then
            ch[3] = g
        end
    end
    local k = #cands
    local flags = tonumber(ARGV[ab + EA_FLAGS])
    local bo = allows_backorder(flags)

    -- Most orders fit at the most preferred candidate: no need to rank the
    -- rest, or to look at their stock.
    local plan, top, shortages = nil, nil, nil
    if not (r and r.explain) then
        if r then
            top = top_candidate(g, k, codes, r)
        elseif k > 0 then
            top = 1
        end
        if not top then
            return {ST_SHORT, skus[1], qty[1], 0, 0}
        end
        plan = plan_at(kb, n, qty, cands[top], bo)
    end
    local explain, due = nil, nil
    if plan then
        cands = {cands[top]}
    else
        if r then
            local order = ranked_candidates(g, k, codes, r)
            explain = r.explain and explain_list(cands, g, order, r)
            local ranked = {}
            for x, j in ipairs(order) do
                ranked[x] = cands[j]
            end
            cands, k = ranked, #order
        end
        if k == 0 then
            return with_explain({ST_SHORT, skus[1], qty[1], 0}, explain)
        end
        -- avail[i][j]: what line i may take at candidate j, as the orders
        -- before this one left the stock (the fields of every candidate
        -- read, those of a channel once per batch).
        local names, slot = nil, bo and 4 or 2
        if ch then
            ch[slot] = ch[slot] or names_of(ch[1], bo)
            names = ch[slot]
        else
            names = names_of(cands, bo)
        end
        -- have: the same, before it is clamped at 0 (due holds given back
        -- add to it).
        local have, avail = {}, nil
        for i = 1, n do
            local c = read_stock(KEYS[kb + EK_FIXED + i - 1], names)
            local row = {}
            for j = 1, k do
                row[j] = can_take(c, bo and fields_bo(cands[j]) or fields_of(cands[j]))
            end
            have[i] = row
        end
        avail = clamped(have)
        local strategy = ARGV[ab + EA_STRATEGY]
        plan = make_plan(strategy, avail, qty, n, k)
        if not plan then
            due = find_due(kb, n, skus, cands, have)
            if due then
                avail = clamped(have)
                plan = make_plan(strategy, avail, qty, n, k)
            end
            if not plan and made_partial(flags) then
                local total
                plan, total = partial_plan(strategy, avail, qty, n, k)
                if total == 0 then
                    plan = nil
                else
                    shortages = {}
                    for i = 1, n do
                        local got, p = 0, plan[i]
                        for x = 2, #p, 2 do
                            got = got + p[x]
                        end
                        if got < qty[i] then
                            shortages[#shortages + 1] = {skus[i], qty[i], got}
                        end
                    end
                end
            end
            if not plan then
                local reply = with_explain(short(strategy, avail, qty, skus, n, k), explain)
                return reply, nil, nil, nil, due
            end
        end
    end
    for i = 1, n do
        local p, key = plan[i], KEYS[kb + EK_FIXED + i - 1]
        for x = 1, #p, 2 do
            if broken[key][fields_of(cands[p[x]])[2]] then
                error('the reserved units of ' .. skus[i] .. ' at ' .. cands[p[x]] ..
                          ' are not a whole number')
            end
        end
        check_holds(KEYS[kb + EK_FIXED + n + i - 1])
    end
    return nil, plan, cands, skus, due, explain, shortages
end

-- Gives back the due allocations plan_order found (it read their
-- locations' fields).
local function give_back(due)
    for _, d in ipairs(due) do
        local holds, key, sku, members = d[1], d[2], d[3], d[4]
        local c = stock[key]
        for _, member in ipairs(members) do
            local id, loc, q = hold_parts(member)
            local f = fields_of(loc)
            local a = c[f[1]] - c[f[2]] - c[f[3]]
            reserve_change(key, f[2], -q)
            ledger(K_EVENTS, maxlen, 'expire', sku, loc, text(q), id, '')
            -- Units given back only ever bring a location back in stock.
            if a <= 0 and a + q > 0 then
                stock_events(K_STOCK_EVENTS, maxlen, key, sku, loc,
                             row_available(c[f[1]], c[f[2]] + q, c[f[3]]),
                             row_available(c[f[1]], c[f[2]], c[f[3]]), nil, 'expire', id)
            end
        end
        redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
    end
end

-- Records the hold that plan_order planned. Returns its reply.
local function hold(kb, ab, n, plan, cands, skus, explain, shortages)
    local rid, order_id = ARGV[ab + EA_ID], ARGV[ab + EA_ORDER_ID]
    local expires = now + tonumber(ARGV[ab + EA_TTL])
    local expires_t = text(expires)
    local flags = tonumber(ARGV[ab + EA_FLAGS])
    local bo = allows_backorder(flags)
    shortages = shortages or {}
    -- The allocations as JSON, [[sku, location, quantity], ...], built as
    -- text (identifiers need no escaping), joined once: an order may have
    -- thousands.
    local reply, json, count = with_explain({ST_HELD}, explain), {}, 0
    local r = #reply
    reply[r + 1], reply[r + 2], reply[r + 3] = rid, 'held', order_id
    reply[r + 4], reply[r + 5], reply[r + 6] = now, expires, ''
    reply[r + 7], reply[r + 8] = flags, #shortages
    for _, s in ipairs(shortages) do
        reply[#reply + 1] = s[1]
        reply[#reply + 1] = s[2]
        reply[#reply + 1] = s[3]
    end
    for i = 1, n do
        local parts, key, sku = plan[i], KEYS[kb + EK_FIXED + i - 1], skus[i]
        local add = adds[KEYS[kb + EK_FIXED + n + i - 1]]
        for x = 1, #parts, 2 do
            local loc, q = cands[parts[x]], parts[x + 1]
            local qt = text(q)
            count = count + 1
            local f, c, b = fields_of(loc), stock[key], 0
            local a = c[f[1]] - c[f[2]] - c[f[3]]
            if bo then
                -- The units available stock did not cover.
                b = q - (a > 0 and a or 0)
                b = b > 0 and b or 0
            end
            reserve_change(key, f[2], q)
            add[#add + 1] = expires_t
            add[#add + 1] = hold_member(rid, text(count), loc, qt)
            if not due_at[sku] then
                due_at[sku] = expires
                due_skus[#due_skus + 1] = sku
            elseif expires < due_at[sku] then
                due_at[sku] = expires
            end
            ledger(K_EVENTS, maxlen, 'reserve', sku, loc, qt, rid, '')
            -- Through 0 or the threshold, on on_hand - reserved - safety
            -- (the same crossings as on available, for a threshold >= 0).
            local low = c[f[4]]
            if a > 0 and a <= q or low and a > low and a - q <= low then
                stock_events(K_STOCK_EVENTS, maxlen, key, sku, loc,
                             row_available(c[f[1]], c[f[2]] - q, c[f[3]]),
                             row_available(c[f[1]], c[f[2]], c[f[3]]), low or nil, 'reserve',
                             rid)
            end
            if bo then
                json[count] = '["' .. sku .. '","' .. loc .. '",' .. qt .. ',' .. text(b) .. ']'
            else
                json[count] = '["' .. sku .. '","' .. loc .. '",' .. qt .. ']'
            end
            reply[#reply + 1] = sku
            reply[#reply + 1] = loc
            reply[#reply + 1] = q
            reply[#reply + 1] = b
        end
    end
    local key, allocs = KEYS[kb + EK_RES], '[' .. table.concat(json, ',') .. ']'
    local channel, strategy, route = ARGV[ab + EA_CHANNEL], ARGV[ab + EA_STRATEGY], ARGV[ab + EA_ROUTE]
    local at = ab + EA_FIXED + 2 * n
    -- What reservation.update needs to plan as this reserve did, each only
    -- when it is not the default (read_reservation). Most holds keep no
    -- more than their channel: one HSET of fixed arguments.
    if flags == 0 and strategy == 'auto' and route == '' and ARGV[at] == '0' then
        if channel == 'default' then
            redis.call('HSET', key, 'status', 'held', 'order_id', order_id, 'created_at', text(now),
                       'expires_at', expires_t, 'allocations', allocs, 'v', '2')
        else
            redis.call('HSET', key, 'status', 'held', 'order_id', order_id, 'created_at', text(now),
                       'expires_at', expires_t, 'allocations', allocs, 'v', '2', 'channel', channel)
        end
    else
        local fields = {'status', 'held', 'order_id', order_id, 'created_at', text(now),
                        'expires_at', expires_t, 'allocations', allocs, 'v', '2'}
        local function keep(name, value)
            fields[#fields + 1] = name
            fields[#fields + 1] = value
        end
        if flags ~= 0 then
            keep('flags', text(flags))
        end
        if #shortages > 0 then
            keep('shortages', cjson.encode(shortages))
        end
        if channel ~= 'default' then
            keep('channel', channel)
        end
        if strategy ~= 'auto' then
            keep('strategy', strategy)
        end
        local m = tonumber(ARGV[at])
        if m > 0 then
            keep('locs', table.concat(ARGV, ',', at + 1, at + m))
        end
        if route ~= '' then
            keep('route', route)
        end
        redis.call('HSET', key, unpack(fields))
    end
    if order_id ~= '' then
        redis.call('SET', KEYS[kb + EK_ORDER], rid)
    end
    return reply
end

-- The shared keys, once: a write to one of another type would fail after
-- the batch's first write.
local bad_shared = nil
for _, s in ipairs({{K_EVENTS, 'stream'}, {K_DUE, 'zset'}, {K_STOCK_EVENTS, 'stream'}}) do
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
        local ok, r, plan, cands, skus, due, explain, shortages = pcall(plan_order, kb, ab, n, m)
        if not ok then
            reply = {ST_BROKEN, type(r) == 'table' and (r.err or '?') or tostring(r)}
        else
            if due then
                give_back(due)
            end
            reply = r or hold(kb, ab, n, plan, cands, skus, explain, shortages)
        end
    end
    out[#out + 1] = reply
    kb = kb + EK_FIXED + 2 * n
    ab = ab + EA_FIXED + 2 * n + 1 + m
end

-- The writes the orders share.
for _, key in ipairs(touched) do
    local counts, c = {}, stock[key]
    for f, d in pairs(delta[key]) do
        if d ~= 0 then
            counts[#counts + 1] = f
            counts[#counts + 1] = text(c[f])
        end
    end
    if #counts > 0 then
        redis.call('HSET', key, unpack(counts))
    end
end
for _, key in ipairs(add_keys) do
    zadd_all(key, nil, adds[key])
end
-- A sku's entry in the due index moves earlier, never later (LT): the
-- sweeper moves it later once what was due there is done.
local due_adds = {}
for _, sku in ipairs(due_skus) do
    due_adds[#due_adds + 1] = text(due_at[sku])
    due_adds[#due_adds + 1] = sku
end
zadd_all(K_DUE, 'LT', due_adds)
return out
