-- audit: checks, for each sku given, that every location's reserved count
-- equals the sum of the live allocations in the sku's holds index there,
-- and that a sku with holds is in the due index no later than its earliest
-- one (else the sweeper would not find them in time). Given the ledger
-- segment, it also reads each sku's counts together with the ledger
-- entries that the caller has not replayed yet, so that the caller can
-- compare its replay of the ledger with the counts as of one moment.
-- Read-only. Contract: include/audit.h.
--
-- K_DUE               {ns}:due
-- K_EXPIRY            {ns}:expiry  (a hold made before the due index is
--                     found there by id instead)
-- KEYS[K_FIXED+j]     {ns}:stock:<sku_j>     j = 1..m
-- KEYS[K_FIXED+m+j]   {ns}:holds:<sku_j>
-- A_BUDGET    the most index members (with the ledger segment: and stock
--             locations) to read in this call (a sku is read whole, so the
--             first one always is)
-- A_M         m;  ARGV[A_FIXED+j]  sku_j
--
-- The ledger segment (optional; KEYS from LK = K_FIXED+2m+1, ARGV from
-- LA = A_FIXED+m+1):
-- KEYS[LK+EK_EVENTS]   {ns}:events, the ledger stream
-- ARGV[LA+EA_READ]     how many entries the caller has replayed: the
--                      stream's first ones, up to and including
-- ARGV[LA+EA_CURSOR]   the id of the last of them ('0-0' for none)
-- ARGV[LA+EA_TAIL]     the most entries after the cursor to read here
-- With m = 0 the call only says whether the ledger can be replayed.
--
-- Reply: {ST_OK, done, holds, d, sku, location, reserved, expected, ...
--         (d groups), u, sku, due, earliest, ... (u groups)}: the first
--        `done` skus were checked; holds counts the distinct reservations
--        holding units on each of them (summed); the u skus are due too
--        late (due -1: not in the due index) for their earliest hold.
--        With the ledger segment, then:
--          added, r_1, location, on_hand, reserved, ... (r_1 groups), ...
--          r_done, ..., t, id, type, sku, location, quantity, ... (t groups)
--        added is the number of entries ever added to the ledger, which is
--        the caller's EA_READ plus the entries after the cursor: none that
--        the caller has not read was lost. r_j groups per sku checked: the
--        locations of its stock hash with an on_hand or a reserved field
--        (their text; '' for one that is missing). The t entries are
--        those after the cursor that name a sku checked, in ledger order.
--        {ST_BEHIND, added}: more than EA_TAIL entries follow the cursor;
--        nothing was checked (read further, then call again).
--        {ST_UNREPLAYABLE, why, added, length}: nothing was checked, and
--        the ledger cannot be replayed: why is 'trimmed' (fewer entries
--        follow the cursor than were added after it: trimmed by MAXLEN or
--        deleted; with EA_READ 0 this is a stream that holds fewer entries
--        than were ever added to it), 'uncounted' (the stream does not say
--        how many entries were added: Redis before 7.0) or 'not_a_stream'.
--
-- Invariant: read-only; changes nothing. Redis runs it atomically, so each
-- sku's counts, its index and the ledger are one consistent snapshot: the
-- caller's sums of its first EA_READ entries plus the entries returned
-- here are the whole ledger of those skus at the moment of their counts.
local m = tonumber(A_M)
local budget = tonumber(A_BUDGET)
local events = KEYS[K_FIXED + 2 * m + 1 + EK_EVENTS]
local la = A_FIXED + m + 1
local added, tail = 0, {}
if events then
    local read, tail_max = tonumber(ARGV[la + EA_READ]), tonumber(ARGV[la + EA_TAIL])
    local kind, length = redis.call('TYPE', events).ok, 0
    if kind == 'stream' then
        added = nil
        local info = redis.call('XINFO', 'STREAM', events)
        for i = 1, #info - 1, 2 do
            if info[i] == 'length' then
                length = info[i + 1]
            elseif info[i] == 'entries-added' then
                added = info[i + 1]
            end
        end
        if not added then
            return {ST_UNREPLAYABLE, 'uncounted', 0, length}
        end
    elseif kind ~= 'none' then
        return {ST_UNREPLAYABLE, 'not_a_stream', 0, 0}
    end
    -- Entries are only ever appended, so the ones after the cursor are the
    -- last added - read, unless some of those are gone.
    local after = added - read
    if after > length or after < 0 then
        return {ST_UNREPLAYABLE, 'trimmed', added, length}
    end
    if after > tail_max then
        return {ST_BEHIND, added}
    end
    if after > 0 then
        tail = redis.call('XRANGE', events, '(' .. ARGV[la + EA_CURSOR], '+', 'COUNT', after + 1)
    end
    if #tail ~= after then
        return {ST_UNREPLAYABLE, 'trimmed', added, length}
    end
end

local reply = {ST_OK, 0, 0, 0}
local late, rows, checked = {}, {}, {}
for j = 1, m do
    if j > 1 and budget <= 0 then
        break
    end
    local sku = ARGV[A_FIXED + j]
    local members = redis.call('ZRANGE', KEYS[K_FIXED + m + j], 0, -1, 'WITHSCORES')
    budget = budget - #members / 2
    local want, ids = {}, {}
    if #members > 0 then
        local due = tonumber(redis.call('ZSCORE', K_DUE, sku))
        local earliest = tonumber(members[2])
        if (not due or due > earliest) and
            not redis.call('ZSCORE', K_EXPIRY, hold_parts(members[1]) or '') then
            late[#late + 1] = {sku, due or -1, earliest}
        end
    end
    for x = 1, #members, 2 do
        local id, loc, q = hold_parts(members[x])
        want[loc] = (want[loc] or 0) + q
        if not ids[id] then
            ids[id] = true
            reply[3] = reply[3] + 1
        end
    end
    local seen = {}
    local all = redis.call('HGETALL', KEYS[K_FIXED + j])
    for f = 1, #all, 2 do
        -- The reserved field of a location (stock_fields names them).
        local loc = string.match(all[f], '^(.*):reserved$')
        if loc then
            seen[loc] = true
            local have, expected = tonumber(all[f + 1]) or 0, want[loc] or 0
            if have ~= expected then
                reply[4] = reply[4] + 1
                reply[#reply + 1] = sku
                reply[#reply + 1] = loc
                reply[#reply + 1] = have
                reply[#reply + 1] = expected
            end
        end
    end
    for loc, expected in pairs(want) do
        if not seen[loc] then
            reply[4] = reply[4] + 1
            reply[#reply + 1] = sku
            reply[#reply + 1] = loc
            reply[#reply + 1] = 0
            reply[#reply + 1] = expected
        end
    end
    if events then
        -- The counts of each location, in the order the hash gives them.
        local at, order = {}, {}
        for f = 1, #all, 2 do
            local loc, which = string.match(all[f], '^(.*):on_hand$'), 1
            if not loc then
                loc, which = string.match(all[f], '^(.*):reserved$'), 2
            end
            if loc then
                if not at[loc] then
                    at[loc] = {'', ''}
                    order[#order + 1] = loc
                end
                at[loc][which] = all[f + 1]
            end
        end
        local r = {}
        for _, loc in ipairs(order) do
            r[#r + 1] = loc
            r[#r + 1] = at[loc][1]
            r[#r + 1] = at[loc][2]
        end
        rows[j] = r
        budget = budget - #order
        checked[sku] = true
    end
    reply[2] = j
end
reply[#reply + 1] = #late
for _, l in ipairs(late) do
    reply[#reply + 1] = l[1]
    reply[#reply + 1] = l[2]
    reply[#reply + 1] = l[3]
end
if events then
    reply[#reply + 1] = added
    for j = 1, reply[2] do
        reply[#reply + 1] = #rows[j] / 3
        for _, v in ipairs(rows[j]) do
            reply[#reply + 1] = v
        end
    end
    local t = #reply + 1
    reply[t] = 0
    for _, e in ipairs(tail) do
        local f = {}
        for i = 1, #e[2] - 1, 2 do
            f[e[2][i]] = e[2][i + 1]
        end
        if checked[f.sku or ''] then
            reply[t] = reply[t] + 1
            reply[#reply + 1] = e[1]
            reply[#reply + 1] = f.type or ''
            reply[#reply + 1] = f.sku
            reply[#reply + 1] = f.location or ''
            reply[#reply + 1] = f.quantity or ''
        end
    end
end
return reply
