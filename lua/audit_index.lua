-- audit_index: checks a page of the expiry index: every id still in it
-- must name a live hold. Read-only. Contract: include/audit.h.
--
-- K_EXPIRY           {ns}:expiry
-- KEYS[K_FIXED+i]    {ns}:res:<id_i>    i = 1..k
-- A_K                k;  ARGV[A_FIXED+i]  id_i
--
-- Reply: {ST_OK, held, s, id, status, ... (s groups)}: held counts the ids
--        that are live holds; the s others are stale entries, with the
--        record's status ('missing' when there is none, 'unreadable' when
--        it cannot be read). An id no longer in the index is skipped.
--
-- Invariant: read-only; changes nothing.
local reply = {ST_OK, 0, 0}
for i = 1, tonumber(A_K) do
    local id = ARGV[A_FIXED + i]
    if redis.call('ZSCORE', K_EXPIRY, id) then
        local res = read_reservation(KEYS[K_FIXED + i])
        if res and res.status == 'held' then
            reply[2] = reply[2] + 1
        else
            reply[3] = reply[3] + 1
            reply[#reply + 1] = id
            reply[#reply + 1] = res == nil and 'missing' or res == false and 'unreadable' or
                                    res.status
        end
    end
end
return reply
