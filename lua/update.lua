-- reservation.update: new absolute quantities for the lines of a held
-- reservation. Contract: include/transition.h (the transition layout,
-- k = 1, with update's channel keys and items).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events                the ledger stream
-- K_QUARANTINE  {ns}:quarantine            (expire's)
-- K_DUE         {ns}:due                   skus by their earliest deadline
-- K_LOCATIONS   {ns}:locations             the ranking entries (reserve.lua)
-- K_STOCK_EVENTS {ns}:stock-events         the stock-level events (stock_events)
-- KEYS[K_FIXED+1]  {ns}:res:<id>
-- KEYS[K_FIXED+2]  {ns}:order:<order_id>   (the res key when it has none)
-- KEYS[K_FIXED+2+j]  {ns}:stock:<sku_j>    j = 1..m, every sku of its lines
-- KEYS[K_FIXED+2+m+j]  {ns}:holds:<sku_j>  their holds indexes
-- then {ns}:channel:<channel>, {ns}:rules:<channel> of its channel
-- A_RETENTION, A_MAXLEN   retention (an expiry found here), ledger cap
--                          (the stock events' too)
-- A_K           1;  ARGV[A_FIXED+1]  the reservation id
-- ARGV[A_FIXED+2]  m;  ARGV[A_FIXED+2+j]  sku_j
-- then u, and sku, quantity of each of the u items
--
-- Reply: {ST_UPDATED, reservation...}     the lines changed
--        {ST_UNCHANGED, reservation...}   they were so already: nothing
--                                         changes (the status is rewritten
--                                         as it is: confirm_state)
--        {ST_NOT_FOUND}
--        {ST_NOT_HELD, status}            committed, released or expired
--                                         (a hold past its deadline is
--                                         expired now)
--        {ST_NOT_A_LINE, sku}             an item names no line of it
--        {ST_NO_LINE_LEFT}                every line would be dropped
--        {ST_SHORT, sku, requested, available}  an increase cannot be
--                                         filled: nothing changed
--        {ST_KEYS_MISSING}                a sku of its lines has no key: plan again
--
-- Increases are planned like the reserve that made the hold: its channel
-- (filtered by the locations it asked for), the channel's rules for its
-- route, its strategy and whether it allows backorders, all or nothing.
-- The strategy's meaning for the extra units: single takes them only where
-- the hold is; per_line a line's only where that line is (a line without
-- units from any candidate); split and auto over all candidates.
-- Decreases give back the least preferred allocations (the last) first,
-- their backordered units first. An updated line is filled, so it leaves
-- the shortages. Each unit moved is a ledger entry (reserve or release,
-- reason 'update'). The deadline is unchanged. A due hold on the same skus
-- is not given back here (the sweeper does, within its interval). Each
-- unit move that takes a location's available through its threshold or
-- through 0 appends the entries of stock_events, cause 'update', in the
-- order of the moves (decreases first); a hold expired here appends
-- those of its units given back, cause 'expire'.
--
-- Invariants: all checks before the first write; reserved moves with the
-- holds index, so audit's sums hold; available never goes below
-- -backorder_limit (nor below 0 without backorders).
local t = transition_layout()
check_stream(K_STOCK_EVENTS)
local res, rid, res_key = live_hold(t)
if not res then
    return rid
end
local bo = allows_backorder(res.flags)

-- The lines: units held per sku, in the order of the allocations, then the
-- lines of the shortages that hold nothing.
local held, lines = {}, {}
for _, a in ipairs(res.allocs) do
    if not held[a[1]] then
        held[a[1]] = 0
        lines[#lines + 1] = a[1]
    end
    held[a[1]] = held[a[1]] + a[3]
end
for _, s in ipairs(res.shortages) do
    if not held[s[1]] then
        held[s[1]] = 0
        lines[#lines + 1] = s[1]
    end
end
local want, listed = {}, {}
for sku, q in pairs(held) do
    want[sku] = q
end
local u = tonumber(ARGV[t.args])
for x = 1, u do
    local sku, q = ARGV[t.args + 2 * x - 1], tonumber(ARGV[t.args + 2 * x])
    if not held[sku] then
        return {ST_NOT_A_LINE, sku}
    end
    want[sku], listed[sku] = q, true
end
local left, changed = 0, false
for _, sku in ipairs(lines) do
    left = left + want[sku]
    changed = changed or want[sku] ~= held[sku]
end
if left == 0 then
    return {ST_NO_LINE_LEFT}
end
local shortages = {}
for _, s in ipairs(res.shortages) do
    if not listed[s[1]] then
        shortages[#shortages + 1] = s
    end
end
if not changed and #shortages == #res.shortages then
    confirm_state(res_key, 'status', res.status)
    return reservation_reply(ST_UNCHANGED, rid, res)
end

-- The increases, planned before anything is written.
local skus, need = {}, {}
for _, sku in ipairs(lines) do
    if want[sku] > held[sku] then
        skus[#skus + 1], need[#need + 1] = sku, want[sku] - held[sku]
    end
end
local plan, cands = nil, {}
if #skus > 0 then
    local channel = redis.call('LRANGE', KEYS[t.keys], 0, -1)
    if res.locs ~= '' then
        for loc in string.gmatch(res.locs, '[^,]+') do
            local allowed = #channel == 0
            for _, c in ipairs(channel) do
                allowed = allowed or c == loc
            end
            if allowed then
                cands[#cands + 1] = loc
            end
        end
    else
        cands = channel
    end
    local rules = rules_list(redis.call('GET', KEYS[t.keys + 1]))
    if #cands > 0 and (#rules > 0 or res.route ~= '') then
        local r = parse_route(res.route)
        local codes = rule_codes(rules, r)
        if #codes > 0 or r.chord2 then
            local order = ranked_candidates(read_locations(K_LOCATIONS, cands), #cands, codes, r)
            local ranked = {}
            for x, j in ipairs(order) do
                ranked[x] = cands[j]
            end
            cands = ranked
        end
    end
    -- Where the strategy lets a line grow: single, where the hold is (the
    -- other candidates are left out, so that a shortage is measured
    -- there); per_line, where the line is (anywhere when it holds nothing).
    local at_hold, at_line = {}, {}
    for _, a in ipairs(res.allocs) do
        at_hold[a[2]] = true
        at_line[a[1]] = at_line[a[1]] or {}
        at_line[a[1]][a[2]] = true
    end
    if res.strategy == 'single' then
        local kept = {}
        for _, loc in ipairs(cands) do
            if at_hold[loc] then
                kept[#kept + 1] = loc
            end
        end
        cands = kept
    end
    local function may_grow(sku, loc)
        return res.strategy ~= 'per_line' or not at_line[sku] or at_line[sku][loc]
    end
    local avail = {}
    for i, sku in ipairs(skus) do
        local row = {}
        for j, loc in ipairs(cands) do
            local cap = may_grow(sku, loc) and capacity_at(t.stock[sku], loc, bo) or 0
            row[j] = cap > 0 and cap or 0
        end
        avail[i] = row
    end
    if #cands > 0 then
        plan = make_plan(res.strategy, avail, need, #skus, #cands)
    end
    if not plan then
        if #cands == 0 then
            return {ST_SHORT, skus[1], need[1], 0}
        end
        return short(res.strategy, avail, need, skus, #skus, #cands)
    end
end

-- Every count to be written is checked first.
for _, a in ipairs(res.allocs) do
    check_reserved(t.stock[a[1]], a[2])
end
for i, sku in ipairs(skus) do
    for x = 1, #plan[i], 2 do
        check_reserved(t.stock[sku], cands[plan[i][x]])
    end
end

-- The writes. The items as the reserve asked for them, kept for its replay.
if not res.requested then
    local requested = {}
    for _, sku in ipairs(lines) do
        requested[sku] = held[sku]
    end
    for _, s in ipairs(res.shortages) do
        requested[s[1]] = s[2]
    end
    redis.call('HSET', res_key, 'requested', cjson.encode(requested))
end
local new = copy_allocs(res.allocs)
for _, sku in ipairs(lines) do
    local cut = held[sku] - want[sku]
    for i = #new, 1, -1 do
        local a = new[i]
        if cut > 0 and a[1] == sku then
            local d = math.min(cut, a[3])
            a[3], cut = a[3] - d, cut - d
            if a[4] then
                a[4] = math.max(0, a[4] - d)
            end
            move_reserved(t, sku, a[2], -d, rid, 'update')
        end
    end
end
for i, sku in ipairs(skus) do
    local parts = plan[i]
    for x = 1, #parts, 2 do
        local loc, q = cands[parts[x]], parts[x + 1]
        local b = nil
        if bo then
            local _, covered = capacity_at(t.stock[sku], loc, bo)
            b = math.max(0, q - covered)
        end
        local at, after = find_alloc(new, sku, loc)
        if at then
            new[at][3] = new[at][3] + q
            if b then
                new[at][4] = (new[at][4] or 0) + b
            end
        else
            table.insert(new, after, {sku, loc, q, b})
        end
        move_reserved(t, sku, loc, q, rid, 'update')
    end
end
rewrite_allocs(t, res, rid, res_key, new)
if #shortages > 0 then
    redis.call('HSET', res_key, 'shortages', cjson.encode(shortages))
else
    redis.call('HDEL', res_key, 'shortages')
end
res.shortages = shortages
return reservation_reply(ST_UPDATED, rid, res)
