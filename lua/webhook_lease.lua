-- webhook_lease: keeps the entries this replica holds its own. An entry
-- pending in the group and idle longer than --webhook-lease-ms is taken
-- over by a live replica (webhook_read's claim); each replica claims its
-- own again well before that (idle 0), or, when it stops, hands them over
-- at once (idle = the lease). Contract: include/webhook.h.
--
-- K_STREAM     {ns}:stock-events
-- A_GROUP      the URL's consumer group
-- A_CONSUMER   this replica
-- A_IDLE       the idle time (ms) to give the entries still its own
-- ARGV[A_FIXED + 1..]: the ids it holds
--
-- Reply: {ST_OK, r1, r2, ...} per id: 0 still its own (claimed again), 1
-- another replica's now, 2 pending no more (delivered or given up
-- elsewhere, or trimmed).
--
-- Invariant: only entries pending for this consumer are touched; their
-- delivery count does not change (JUSTID).
local reply = {ST_OK}
for i = A_FIXED + 1, #ARGV do
    local id = ARGV[i]
    local p = pending_entry(K_STREAM, A_GROUP, id)
    if not p then
        reply[#reply + 1] = 2
    elseif p[2] ~= A_CONSUMER then
        reply[#reply + 1] = 1
    else
        redis.call('XCLAIM', K_STREAM, A_GROUP, A_CONSUMER, 0, id, 'IDLE', A_IDLE, 'JUSTID')
        reply[#reply + 1] = 0
    end
end
return reply
