-- expire_due: the held reservations whose deadline has passed, oldest
-- first, at most ARGV[1] of them. Read-only: the first step of a sweep,
-- which then learns their keys (reservation_plan) and releases them
-- (expire).
--
-- KEYS[1]  {ns}:expiry
-- ARGV[1]  the most ids to return
--
-- Reply: {0, id, ...}
--
-- Invariant: read-only; changes nothing.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
local reply = {0}
for _, id in ipairs(due) do
    reply[#reply + 1] = id
end
return reply
