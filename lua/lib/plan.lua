-- Planning an order over ranked candidates, shared by reserve and
-- reservation.update (see tools/embed_lua.cmake for how helpers are
-- taken). avail[i][j] is what line i may take at candidate j (never
-- negative), qty[i] what it asks for; n lines, k candidates.

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


-- When no plan fills the order (allow_partial): every line filled as far
-- as it can be, the strategy still choosing where. split and auto: each
-- line greedily across the candidates in order; per_line: each line from
-- one candidate, the first that fills it, else the one with the most for
-- it; single: one candidate for the whole order, the first that fills it,
-- else the one that covers the most units (first among equals). Returns
-- the plan (a line may have no parts) and the units it takes in all.
local function partial_plan(strategy, avail, qty, n, k)
    local plan, total = {}, 0
    if strategy == 'single' then
        local best, most = 1, -1
        for j = 1, k do
            local units = 0
            for i = 1, n do
                units = units + math.min(avail[i][j], qty[i])
            end
            if units > most then
                best, most = j, units
            end
        end
        for i = 1, n do
            local take = math.min(avail[i][best], qty[i])
            plan[i] = take > 0 and {best, take} or {}
            total = total + take
        end
        return plan, total
    end
    for i = 1, n do
        local row, need = avail[i], qty[i]
        if strategy == 'per_line' then
            local best = 1
            for j = 1, k do
                if row[j] >= need then
                    best = j
                    break
                elseif row[j] > row[best] then
                    best = j
                end
            end
            local take = math.min(row[best] or 0, need)
            plan[i] = take > 0 and {best, take} or {}
            total = total + take
        else
            local parts = {}
            for j = 1, k do
                local take = row[j] < need and row[j] or need
                if take > 0 then
                    parts[#parts + 1] = j
                    parts[#parts + 1] = take
                    need = need - take
                    total = total + take
                    if need == 0 then
                        break
                    end
                end
            end
            plan[i] = parts
        end
    end
    return plan, total
end
