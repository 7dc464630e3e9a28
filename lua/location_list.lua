-- location.list: every location's record, by name. Read-only. Contract:
-- include/location.h.
--
-- K_LOCATIONS  {ns}:locations   zset, scores 0 (so in name order)
-- A_PREFIX     {ns}:location:   the start of a location's record key
--
-- Reply: {ST_OK, location, lat, lng, zone, priority, tags, ...}, all
-- text, six per location in name order ('' for what a record lacks). A
-- name whose record is gone is left out.
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK}
for _, loc in ipairs(redis.call('ZRANGE', K_LOCATIONS, 0, -1)) do
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
