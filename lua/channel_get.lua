-- channel.get: the ordered locations of a channel and its ranking rules.
-- Read-only. Contract: include/stock.h.
--
-- K_CHANNEL  {ns}:channel:<channel>
-- K_RULES    {ns}:rules:<channel>
--
-- Reply: {ST_OK, rules, location, ...} (rules comma-joined, '' for the
-- default), or {ST_UNKNOWN} when the channel is not configured.
--
-- Invariant: read-only; changes nothing.
local locs = redis.call('LRANGE', K_CHANNEL, 0, -1)
if #locs == 0 then
    return {ST_UNKNOWN}
end
local reply = {ST_OK, redis.call('GET', K_RULES) or ''}
for _, loc in ipairs(locs) do
    reply[#reply + 1] = loc
end
return reply
