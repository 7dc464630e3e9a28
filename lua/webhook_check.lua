-- webhook_check: for entries that wait for the previous entry of their
-- (sku, location), whether that one is finished for the group, so that
-- they may be POSTed. Contract: include/webhook.h.
--
-- K_STREAM   {ns}:stock-events
-- K_CURSOR   {ns}:stock-events:cursor:<group>   "<sku>\t<location>" -> the
--            id of the last entry of that chain delivered or given up
-- A_GROUP    the URL's consumer group
-- ARGV[A_FIXED + 2i - 1], ARGV[A_FIXED + 2i]: chain i ("<sku>\t<location>")
--            and prev i, the id its entry waits for
--
-- Reply: {ST_OK, r1, r2, ...}: ri is 1 when prev i is finished (the chain's
-- cursor has reached it, or it is pending in the group no more: delivered,
-- given up, trimmed or never read), 0 when it is still pending (another
-- replica holds it, or will retry it).
--
-- Invariant: read-only.
local reply = {ST_OK}
for i = A_FIXED + 1, #ARGV - 1, 2 do
    local chain, prev = ARGV[i], ARGV[i + 1]
    local done = 0
    if cursor_reached(K_CURSOR, chain, prev) or not pending_entry(K_STREAM, A_GROUP, prev) then
        done = 1
    end
    reply[#reply + 1] = done
end
return reply
