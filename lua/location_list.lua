-- location.list: every location's record, by name. Read-only. Contract:
-- include/location.h.
--
-- K_LOCATIONS  {ns}:locations   hash: every location with a record
-- A_PREFIX     {ns}:location:   the start of a location's record key
--
-- Reply: {ST_OK, location, lat, lng, zone, priority, tags, ...}, all
-- text, six per location in name order ('' for what a record lacks). A
-- name whose record is gone is left out.
--
-- Invariant: read-only; changes nothing.
local reply, names = {ST_OK}, redis.call('HKEYS', K_LOCATIONS)
table.sort(names)
for _, loc in ipairs(names) do
    local v = redis.call('HMGET', A_PREFIX .. loc, 'lat', 'lng', 'zone', 'priority', 'tags')
    if v[4] then
        reply[#reply + 1] = loc
        reply[#reply + 1] = v[1] or ''
        reply[#reply + 1] = v[2] or ''
        reply[#reply + 1] = v[3] or ''
        reply[#reply + 1] = v[4]
        reply[#reply + 1] = v[5] or ''
    end
end
return reply
