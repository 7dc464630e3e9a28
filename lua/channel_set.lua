-- channel.set: replace the ordered list of locations that serve a channel,
-- most preferred first.
--
-- KEYS[1]    {ns}:channel:<channel>   list of location ids
-- ARGV[1..]  the locations, 1..64, distinct (checked by the caller)
--
-- Reply: {0, location, ...} as stored.
--
-- Invariant: readers see the old list or the new one, never a mix.
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], unpack(ARGV))
local reply = {0}
for _, loc in ipairs(ARGV) do
    reply[#reply + 1] = loc
end
return reply
