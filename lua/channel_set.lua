-- channel.set: replace the ordered list of locations that serve a channel,
-- most preferred first. Contract: include/stock.h.
--
-- K_CHANNEL  {ns}:channel:<channel>   list of location ids
-- ARGV[1..]  the locations, 1..64, distinct (checked by the caller)
--
-- Reply: {ST_OK, location, ...} as stored.
--
-- Invariant: readers see the old list or the new one, never a mix.
redis.call('DEL', K_CHANNEL)
redis.call('RPUSH', K_CHANNEL, unpack(ARGV))
local reply = {ST_OK}
for _, loc in ipairs(ARGV) do
    reply[#reply + 1] = loc
end
return reply
