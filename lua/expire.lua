-- expire: the sweeper's release of held reservations past their deadline,
-- a batch at a time. Every replica sweeps; the checks here make a second
-- sweep of the same reservation a no-op, so each is released exactly once.
--
-- KEYS[1]            {ns}:expiry
-- KEYS[2]            {ns}:events
-- KEYS[2+i]          {ns}:res:<id_i>            i = 1..k
-- KEYS[2+k+i]        {ns}:order:<order_id_i>    (the res key when none)
-- KEYS[2+2k+j]       {ns}:stock:<sku_j>         j = 1..m, every sku held
-- ARGV[1]            retention in seconds
-- ARGV[2]            ledger length cap
-- ARGV[3]            k;  ARGV[3+i]    id_i
-- ARGV[4+k]          m;  ARGV[4+k+j]  sku_j
--
-- Reply: {0, released}   how many holds this call expired
--        {-32603}        a sku held has no key in KEYS
--
-- Invariant: only a reservation still held and past its deadline (Redis
-- clock) gives its units back; stale index entries are dropped. All checks
-- run before the first write.
local expiry, events = KEYS[1], KEYS[2]
local retention, maxlen = ARGV[1], ARGV[2]
local k = tonumber(ARGV[3])
local keys = stock_keys(3 + 2 * k, 5 + k, tonumber(ARGV[4 + k]))
local now = now_ms()

local due, stale = {}, {}
for i = 1, k do
    local id = ARGV[3 + i]
    local r = redis.call('HMGET', KEYS[2 + i], 'status', 'expires_at', 'order_id', 'allocations')
    if not r[1] or r[1] ~= 'held' then
        stale[#stale + 1] = id
    elseif tonumber(r[2]) <= now then
        local allocs = cjson.decode(r[4])
        if not keys_cover(allocs, keys) then
            return {-32603}
        end
        due[#due + 1] = {i, id, r[3], allocs}
    end
end

for _, id in ipairs(stale) do
    redis.call('ZREM', expiry, id)
end
for _, d in ipairs(due) do
    local i, id, order_id, allocs = d[1], d[2], d[3], d[4]
    move_units('expire', allocs, keys, events, maxlen, id, '')
    finish(KEYS[2 + i], order_id ~= '' and KEYS[2 + k + i] or nil, expiry, id, 'expired', '',
           retention)
end
return {0, #due}
