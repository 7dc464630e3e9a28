-- location.get: a location's record. Read-only. Contract:
-- include/location.h.
--
-- K_LOCATION   {ns}:location:<location>
--
-- Reply: {ST_OK, lat, lng, zone, priority, tags}, all text ('' for what
-- the record lacks), or {ST_NOT_FOUND}.
--
-- Invariant: read-only; changes nothing.
local v = redis.call('HMGET', K_LOCATION, 'lat', 'lng', 'zone', 'priority', 'tags')
if not v[4] then
    return {ST_NOT_FOUND}
end
return {ST_OK, v[1] or '', v[2] or '', v[3] or '', v[4], v[5] or ''}
