-- expire_due: the held reservations whose deadline has passed, oldest
-- first, at most A_LIMIT of them. Read-only: the first step of a sweep,
-- which then releases them through a transition (reservation_plan, then
-- expire). Contract: include/sweeper.h.
--
-- K_EXPIRY  {ns}:expiry
-- A_LIMIT   the most ids to return
--
-- Reply: {ST_OK, id, ...}
--
-- Invariant: read-only; changes nothing.
local due = redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', now_ms(), 'LIMIT', 0, tonumber(A_LIMIT))
local reply = {ST_OK}
for _, id in ipairs(due) do
    reply[#reply + 1] = id
end
return reply
