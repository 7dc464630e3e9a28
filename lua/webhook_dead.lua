-- webhook_dead: one entry given up (older than --webhook-max-age-s, or
-- malformed) moves to the dead-letter stream, leaves the group's pending
-- list and moves its chain's cursor, in one step. Contract:
-- include/webhook.h.
--
-- K_STREAM     {ns}:stock-events
-- K_DEAD       {ns}:stock-events:dead
-- K_CURSOR     {ns}:stock-events:cursor:<group>
-- A_GROUP      the URL's consumer group
-- A_MAXLEN     about how many entries the dead-letter stream keeps
-- A_ID         the entry's id
-- A_CHAIN      "<sku>\t<location>", or '' (a malformed entry)
-- A_URL        the URL it was for
-- A_ATTEMPTS   POSTs made by the replica giving up
-- A_ERROR      the last failure
-- ARGV[A_FIXED + 1..]: the entry's fields and values, as read
--
-- Reply: {ST_OK, dead id} when moved; {ST_GONE} when the entry is pending
-- in the group no more (delivered or given up elsewhere): nothing done.
--
-- Invariant: an entry reaches the dead-letter stream at most once per
-- group, and only while pending; checks come before the first write; the
-- chain's cursor never moves back (cursor_advance, lua/lib/common.lua).
local err = wrong_type(K_DEAD, 'stream') or wrong_type(K_CURSOR, 'hash')
if err then
    return err
end
if not pending_entry(K_STREAM, A_GROUP, A_ID) then
    return {ST_GONE}
end

local entry = {'XADD', K_DEAD, 'MAXLEN', '~', A_MAXLEN, '*'}
for i = A_FIXED + 1, #ARGV do
    entry[#entry + 1] = ARGV[i]
end
for _, kv in ipairs({{'id', A_ID}, {'url', A_URL}, {'attempts', A_ATTEMPTS},
                     {'last_error', A_ERROR}}) do
    entry[#entry + 1] = kv[1]
    entry[#entry + 1] = kv[2]
end
local dead = redis.call(unpack(entry))
redis.call('XACK', K_STREAM, A_GROUP, A_ID)
cursor_advance(K_CURSOR, A_CHAIN, A_ID)
return {ST_OK, dead}
