-- channel.get: the ordered locations of a channel. Read-only. Contract:
-- include/stock.h.
--
-- K_CHANNEL  {ns}:channel:<channel>
--
-- Reply: {ST_OK, location, ...}, or {ST_UNKNOWN} when the channel is not
-- configured.
--
-- Invariant: read-only; changes nothing.
local locs = redis.call('LRANGE', K_CHANNEL, 0, -1)
if #locs == 0 then
    return {ST_UNKNOWN}
end
local reply = {ST_OK}
for _, loc in ipairs(locs) do
    reply[#reply + 1] = loc
end
return reply
