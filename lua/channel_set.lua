-- channel.set: replace the ordered list of locations that serve a channel,
-- most preferred first, and its ranking rules. Contract: include/stock.h.
--
-- K_CHANNEL  {ns}:channel:<channel>   list of location ids
-- K_RULES    {ns}:rules:<channel>     string: the ranking rules,
--                                     comma-joined; absent for the default
--                                     (channel_order, the v1 behaviour)
-- A_RULES    the rules, comma-joined (checked by the caller), or '' for
--            the default
-- ARGV[A_FIXED + 1..]  the locations, 1..64, distinct (checked by the
--            caller)
--
-- Reply: {ST_OK, rules, location, ...} as stored.
--
-- Invariant: readers see the old list and rules or the new ones, never a
-- mix. Both keys are type-checked before the first write.
for _, s in ipairs({{K_CHANNEL, 'list'}, {K_RULES, 'string'}}) do
    local t = redis.call('TYPE', s[1]).ok
    if t ~= 'none' and t ~= s[2] then
        error(s[1] .. ' is a ' .. t .. ', not a ' .. s[2])
    end
end
redis.call('DEL', K_CHANNEL)
redis.call('RPUSH', K_CHANNEL, unpack(ARGV, A_FIXED + 1))
if A_RULES == '' then
    redis.call('DEL', K_RULES)
else
    redis.call('SET', K_RULES, A_RULES)
end
local reply = {ST_OK, A_RULES}
for i = A_FIXED + 1, #ARGV do
    reply[#reply + 1] = ARGV[i]
end
return reply
