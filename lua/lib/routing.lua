-- Routing (PROTOCOL-2, locations and routing): the reserve script ranks an
-- order's candidate locations by its channel's rules with these helpers.
-- What the ranking reads of a location is its entry in the index
-- {ns}:locations, which stockd packs with cmsgpack (include/route.h,
-- route_pack_location; unpacking is twelve times faster than splitting
-- text) and location_set.lua stores.

-- The rules of a channel as stored ('nearest,priority'), as a list.
local function rules_list(text)
    local list = {}
    for r in string.gmatch(text or '', '[^,]+') do
        list[#list + 1] = r
    end
    return list
end

-- What the ranking needs of the locations locs, read with one HMGET of
-- the index: {x, y, z, zone, priority, lat, lng, cos(lat)}, each a list
-- by position in locs (route_pack_location; a location without an entry
-- has no coordinates, priority 0 and no zone; x and zone are false for
-- none).
-- An entry stockd did not write raises an error.
local function read_locations(index, locs)
    local X, Y, Z, ZN, P, LA, LO, CL = {}, {}, {}, {}, {}, {}, {}, {}
    local v = #locs > 0 and redis.call('HMGET', index, unpack(locs)) or {}
    for j = 1, #locs do
        local x, y, z, la, lo, cl, p, zone = false, 0, 0, 0, 0, 0, 0, ''
        if v[j] then
            x, y, z, la, lo, cl, p, zone = cmsgpack.unpack(v[j])
        end
        if type(p) ~= 'number' or type(zone) ~= 'string' or
            (x and (type(y) ~= 'number' or type(cl) ~= 'number')) then
            error('the entry of location ' .. locs[j] .. ' in ' .. index ..
                      ' is not what location.set writes')
        end
        X[j], Y[j], Z[j], LA[j], LO[j], CL[j] = x, y, z, la, lo, cl
        P[j], ZN[j] = p, zone ~= '' and zone
    end
    return {X, Y, Z, ZN, P, LA, LO, CL}
end

-- Redis GEO's great-circle distance in metres (geohashGetDistance, Redis
-- 7.0: haversine on a sphere of radius 6372797.560856 m), between points
-- given in radians, with the cosines of their latitudes.
local function geo_distance(lat1, lng1, cos1, lat2, lng2, cos2)
    local v = math.sin((lng2 - lng1) / 2)
    if v == 0.0 then
        return 6372797.560856 * math.abs(lat2 - lat1)
    end
    local u = math.sin((lat2 - lat1) / 2)
    local a = u * u + cos1 * cos2 * v * v
    return 2.0 * 6372797.560856 * math.asin(math.sqrt(a))
end

-- An order's route as stockd packs it (include/route.h) as a table: dest
-- (false without a destination; else {x, y, z, lat, lng, cos(lat)} like
-- read_locations), zone ('' for none), chord2 (nil without
-- max_distance_km: else the square of the longest chord of the unit
-- sphere within that distance), explain (true or false).
local function parse_route(route)
    local x, y, z, la, lo, cl, zone, chord2, explain = cmsgpack.unpack(route)
    return {dest = x and {x, y, z, la, lo, cl}, zone = zone, chord2 = chord2 or nil,
            explain = explain}
end

-- The rules that apply to an order (route r), as codes in rule order:
-- 1 same_zone (needs the destination's zone), 2 nearest (needs a
-- destination), 3 priority; channel_order ends the chain.
local function rule_codes(rules, r)
    local codes = {}
    for _, rule in ipairs(rules) do
        if rule == 'channel_order' then
            break
        elseif rule == 'priority' then
            codes[#codes + 1] = 3
        elseif rule == 'nearest' and r.dest then
            codes[#codes + 1] = 2
        elseif rule == 'same_zone' and r.dest and r.zone ~= '' then
            codes[#codes + 1] = 1
        end
    end
    return codes
end

-- The squared chord from the destination d (route.dest) to candidate j
-- of g through the unit sphere: it grows with the great-circle distance.
-- math.huge without coordinates.
local function squared_chord(g, j, d)
    local x = g[1][j]
    if not d or not x then
        return math.huge
    end
    local dx, dy, dz = x - d[1], g[2][j] - d[2], g[3][j] - d[3]
    return dx * dx + dy * dy + dz * dz
end

-- The great-circle distance in whole millimetres of a squared chord c
-- (math.huge for none): distances are compared to the millimetre.
local function chord_mm(c)
    if c == math.huge then
        return c
    end
    local half = math.sqrt(c) / 2
    return math.floor(2000 * 6372797.560856 * math.asin(half < 1 and half or 1))
end

-- The squared chord of a great-circle distance of mm millimetres.
local function mm_chord2(mm)
    local chord = 2 * math.sin(mm / 2000 / 6372797.560856)
    return chord * chord
end

-- Candidate j's number under the rule code, lower first: same_zone 0 or 1,
-- nearest its distance in whole millimetres (from its squared chord c),
-- priority its negation; 0 for no rule.
local function rank_digit(g, j, code, c, zone)
    if code == 2 then
        return chord_mm(c)
    elseif code == 3 then
        return -g[5][j]
    elseif code == 1 then
        return g[4][j] == zone and 0 or 1
    end
    return 0
end

-- The most preferred candidate of the k in g for the order (codes, route
-- r), leaving out those beyond max_distance_km; nil when none is left.
-- Ties go to the next rule and finally to channel order. One pass: most
-- orders are filled there and need no more of the ranking. The common
-- chain, nearest alone, has a loop of its own.
local function top_candidate(g, k, codes, r)
    local d, lim, zone = r.dest, r.chord2 or math.huge, r.zone
    local best, b1, b2, b3 = nil, 0, 0, 0
    if #codes == 1 and codes[1] == 2 then
        -- Nearest alone: in one pass, the candidate of the lowest
        -- millimetre, the earliest in it. [lo, hi) is the best one's
        -- millimetre as squared chords; only a nearer one moves it.
        local X, Y, Z, x0, y0, z0 = g[1], g[2], g[3], d[1], d[2], d[3]
        local lo = 0
        for j = 1, k do
            local x = X[j]
            if x then
                local dx, dy, dz = x - x0, Y[j] - y0, Z[j] - z0
                local c = dx * dx + dy * dy + dz * dz
                if c < lo or (not best and c <= lim) then
                    best, lo = j, mm_chord2(chord_mm(c))
                end
            end
        end
        if not best then
            -- none within reach; or none has coordinates: channel order
            return not r.chord2 and k > 0 and 1 or nil
        end
        return best
    end
    local c1, c2, c3 = codes[1], codes[2], codes[3]
    for j = 1, k do
        local c = squared_chord(g, j, d)
        if c <= lim then
            local t1, t2, t3 = rank_digit(g, j, c1, c, zone), rank_digit(g, j, c2, c, zone),
                rank_digit(g, j, c3, c, zone)
            if not best or t1 < b1 or (t1 == b1 and (t2 < b2 or (t2 == b2 and t3 < b3))) then
                best, b1, b2, b3 = j, t1, t2, t3
            end
        end
    end
    return best
end

-- All the candidates kept (as top_candidate), most preferred first: a
-- list of positions in g.
local function ranked_candidates(g, k, codes, r)
    local order, ranks, lim, zone = {}, {}, r.chord2 or math.huge, r.zone
    for j = 1, k do
        local c = squared_chord(g, j, r.dest)
        if c <= lim then
            order[#order + 1] = j
            ranks[j] = {rank_digit(g, j, codes[1], c, zone), rank_digit(g, j, codes[2], c, zone),
                        rank_digit(g, j, codes[3], c, zone)}
        end
    end
    table.sort(order, function(a, b)
        local x, y = ranks[a], ranks[b]
        for q = 1, 3 do
            if x[q] ~= y[q] then
                return x[q] < y[q]
            end
        end
        return a < b
    end)
    return order
end

-- The explain list of the candidates at positions order of g: {location,
-- distance_km (text, '' without), zone ('' without), priority, ...}, the
-- distance by Redis GEO's formula.
local function explain_list(cands, g, order, r)
    local out, d = {}, r.dest
    for _, j in ipairs(order) do
        out[#out + 1] = cands[j]
        if d and g[1][j] then
            local m = geo_distance(d[4], d[5], d[6], g[6][j], g[7][j], g[8][j])
            out[#out + 1] = string.format('%.4f', m / 1000)
        else
            out[#out + 1] = ''
        end
        out[#out + 1] = g[4][j] or ''
        out[#out + 1] = g[5][j]
    end
    return out
end
