-- channel.get: the ordered locations of a channel. Read-only.
--
-- KEYS[1]  {ns}:channel:<channel>
--
-- Reply: {0, location, ...}, or {1005} when the channel is not configured.
--
-- Invariant: read-only; changes nothing.
local locs = redis.call('LRANGE', KEYS[1], 0, -1)
if #locs == 0 then
    return {1005}
end
local reply = {0}
for _, loc in ipairs(locs) do
    reply[#reply + 1] = loc
end
return reply
