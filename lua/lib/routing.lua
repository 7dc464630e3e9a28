-- Routing (PROTOCOL-2, locations and routing): the reserve script ranks an
-- order's candidate locations by its channel's rules with these helpers.
-- A location's record is the hash {ns}:location:<loc> (location_set.lua).

-- The rules of a channel as stored ('nearest,priority'), as a list.
local function rules_list(text)
    local list = {}
    for r in string.gmatch(text or '', '[^,]+') do
        list[#list + 1] = r
    end
    return list
end

-- What the ranking needs of a location, read once per batch into cache:
-- {lat, lng (radians; false without coordinates), cos(lat), zone (false
-- without), priority}. A record stockd did not write raises an error.
local function location_info(cache, prefix, loc)
    local info = cache[loc]
    if info == nil then
        local D_R = math.pi / 180.0
        local v = redis.call('HMGET', prefix .. loc, 'lat', 'lng', 'zone', 'priority')
        local lat, lng, p = tonumber(v[1]), tonumber(v[2]), tonumber(v[4] or '0')
        if (v[1] and not lat) or (v[2] and not lng) or (lat == nil) ~= (lng == nil) or
            not p or p ~= math.floor(p) or p < -1000 or p > 1000 then
            error('the record of location ' .. loc .. ' is not what location.set writes')
        end
        info = {false, false, 0, v[3] or false, p}
        if lat then
            info[1], info[2] = lat * D_R, lng * D_R
            info[3] = math.cos(info[1])
        end
        cache[loc] = info
    end
    return info
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

-- Ranks the candidates cands (in channel order) of an order by the rules
-- (a list), for route: '' or 'lat,lng,zone,max_km,explain' (each part may
-- be empty; lat and lng in degrees). Returns the ranked candidates, without
-- those farther than max_km or without coordinates when max_km is given;
-- and, when explain is '1', the list {location, distance_km text or '',
-- zone or '', priority, ...} of the ranked candidates.
--
-- Each rule maps a candidate to a whole number, lower first: same_zone 0
-- or 1; nearest the distance in whole millimetres (none: after every real
-- one); priority 1000 - priority. The numbers of the rules that apply, and
-- the candidate's channel position last, are digits of one sort key in
-- mixed radix (at most 2 * 2^35 * 2001 * 64 < 2^53: exact in a double),
-- so one numeric sort ranks them: ties go to the next rule, and finally to
-- channel order.
local function rank_candidates(cands, rules, route, cache, prefix)
    local D_R = math.pi / 180.0
    local lat, lng, zone, max_km, explain =
        string.match(route, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$')
    if not lat then
        lat, lng, zone, max_km, explain = '', '', '', '', ''
    end
    local dest = lat ~= ''
    local active = {}
    for _, r in ipairs(rules) do
        if r == 'channel_order' then
            break
        elseif r == 'priority' or (r == 'nearest' and dest) or
            (r == 'same_zone' and dest and zone ~= '') then
            active[#active + 1] = r
        end
    end
    if #active == 0 and max_km == '' and explain == '' then
        return cands, nil
    end
    local lat0, lng0, cos0 = 0, 0, 0
    if dest then
        lat0, lng0 = tonumber(lat) * D_R, tonumber(lng) * D_R
        cos0 = math.cos(lat0)
    end
    local max_m = max_km ~= '' and tonumber(max_km) * 1000 or nil
    local infos, dist, keys = {}, {}, {}
    for j, loc in ipairs(cands) do
        local info = location_info(cache, prefix, loc)
        local d = nil
        if dest and info[1] then
            d = geo_distance(lat0, lng0, cos0, info[1], info[2], info[3])
        end
        if not max_m or (d and d <= max_m) then
            local key = 0
            for _, r in ipairs(active) do
                if r == 'nearest' then
                    key = key * 34359738368 + (d and math.floor(d * 1000) or 34359738367)
                elseif r == 'priority' then
                    key = key * 2001 + (1000 - info[5])
                else
                    key = key * 2 + (info[4] == zone and 0 or 1)
                end
            end
            keys[#keys + 1] = key * 64 + (j - 1)
            infos[j], dist[j] = info, d
        end
    end
    table.sort(keys)
    local ranked, out = {}, explain == '1' and {} or nil
    for i, key in ipairs(keys) do
        local j = key % 64 + 1
        ranked[i] = cands[j]
        if out then
            local info, d = infos[j], dist[j]
            out[#out + 1] = cands[j]
            out[#out + 1] = d and string.format('%.4f', d / 1000) or ''
            out[#out + 1] = info[4] or ''
            out[#out + 1] = info[5]
        end
    end
    return ranked, out
end
