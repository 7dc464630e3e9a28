-- location.set: replace a location's record: its coordinates, zone,
-- priority and tags. Contract: include/location.h.
--
-- K_LOCATION   {ns}:location:<location>  hash: lat, lng, zone, priority,
--                                        tags (comma-joined); fields of
--                                        what was not given are absent
-- K_LOCATIONS  {ns}:locations            hash: every location with a
--                                        record -> what the reserve
--                                        script's ranking reads of it
--                                        (A_ENTRY)
-- K_GEO        {ns}:geo                  GEO set of the locations with
--                                        coordinates (redis-cli GEOSEARCH)
-- A_LOCATION   the location
-- A_LAT, A_LNG its coordinates as decimal text (checked by the caller:
--              -90..90, -180..180), or '' for none
-- A_ZONE       '' for none
-- A_PRIORITY   -1000..1000
-- A_TAGS       comma-joined identifiers, '' for none
-- A_ENTRY      the same for the ranking, packed by stockd (include/route.h,
--              route_pack_location)
--
-- Reply: {ST_OK, lat, lng, zone, priority, tags} as stored, all text
-- ('' for none).
--
-- Invariant: the record, the index and the GEO set change together: a
-- location is in the GEO set exactly when its record has coordinates that
-- Redis GEO can index (|lat| <= GEO_LAT_MAX; the ranking reads the
-- index, so a location nearer a pole still ranks by its distance). Every
-- key is type-checked before the first write.
local GEO_LAT_MAX = 85.05112878
for _, s in ipairs({{K_LOCATION, 'hash'}, {K_LOCATIONS, 'hash'}, {K_GEO, 'zset'}}) do
    local t = redis.call('TYPE', s[1]).ok
    if t ~= 'none' and t ~= s[2] then
        error(s[1] .. ' is a ' .. t .. ', not a ' .. s[2])
    end
end
local lat = tonumber(A_LAT)
redis.call('DEL', K_LOCATION)
local fields = {'priority', A_PRIORITY}
for _, f in ipairs({{'lat', A_LAT}, {'lng', A_LNG}, {'zone', A_ZONE}, {'tags', A_TAGS}}) do
    if f[2] ~= '' then
        fields[#fields + 1] = f[1]
        fields[#fields + 1] = f[2]
    end
end
redis.call('HSET', K_LOCATION, unpack(fields))
redis.call('HSET', K_LOCATIONS, A_LOCATION, A_ENTRY)
if lat and math.abs(lat) <= GEO_LAT_MAX then
    redis.call('GEOADD', K_GEO, A_LNG, A_LAT, A_LOCATION)
else
    redis.call('ZREM', K_GEO, A_LOCATION)
end
return {ST_OK, A_LAT, A_LNG, A_ZONE, A_PRIORITY, A_TAGS}
