-- location.list: a page of the locations' records. Read-only. Contract:
-- include/location.h.
--
-- K_LOCATIONS  {ns}:locations   hash: every location with a record
-- A_PREFIX     {ns}:location:   the start of a location's record key
-- A_CURSOR     HSCAN cursor of the index ('0' to start)
-- A_COUNT      HSCAN's COUNT hint: the page's size
--
-- Reply: {ST_OK, cursor, location, lat, lng, zone, priority, tags, ...},
-- the next cursor ('0' after the last page), then six per location of the
-- page, all text ('' for what a record lacks), in no order; a location may
-- come again in a later page (HSCAN's rule while the index grows). A name
-- whose record is gone is left out.
--
-- Invariant: read-only; changes nothing. One page at a time, so that a
-- namespace of many locations never holds Redis for long.
local page = redis.call('HSCAN', K_LOCATIONS, A_CURSOR, 'COUNT', A_COUNT)
local reply, kv = {ST_OK, page[1]}, page[2]
for i = 1, #kv, 2 do
    local loc = kv[i]
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
