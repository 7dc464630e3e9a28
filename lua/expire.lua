-- expire: the sweeper's release of held reservations past their deadline,
-- a batch at a time. Every replica sweeps; the checks here make a second
-- sweep of the same reservation a no-op, so each is released exactly once.
-- Contract: include/transition.h (the transition layout).
--
-- K_EXPIRY      {ns}:expiry
-- K_EVENTS      {ns}:events
-- KEYS[K_FIXED+i]    {ns}:res:<id_i>            i = 1..k
-- KEYS[K_FIXED+k+i]  {ns}:order:<order_id_i>    (the res key when none)
-- KEYS[K_FIXED+2k+j] {ns}:stock:<sku_j>         j = 1..m, every sku held
-- A_RETENTION   retention in seconds
-- A_MAXLEN      ledger length cap
-- A_REASON      unused
-- A_K           k;  ARGV[A_FIXED+i]  id_i
-- ARGV[A_FIXED+k+1]  m;  ARGV[A_FIXED+k+1+j]  sku_j
--
-- Reply: {ST_OK, released}   how many holds this call expired
--        {ST_KEYS_MISSING}   a sku held has no key in KEYS: plan again
--
-- Invariant: only a reservation still held and past its deadline (Redis
-- clock) gives its units back, once, even when its id is given twice; stale
-- index entries are dropped. All checks run before the first write.
local t = transition_layout()
local now = now_ms()

local due, stale, seen = {}, {}, {}
for i = 1, t.k do
    local rid, res_key = transition_item(t, i, nil)
    -- An id given twice is looked at once: every record is read before the
    -- first write, so a second look would still see it held.
    if not seen[rid] then
        seen[rid] = true
        local res = load_reservation(res_key)
        if not res or res.status ~= 'held' then
            stale[#stale + 1] = rid
        elseif res.expires <= now then
            if not keys_cover(res.allocs, t.stock) then
                return {ST_KEYS_MISSING}
            end
            due[#due + 1] = {i, res}
        end
    end
end

for _, rid in ipairs(stale) do
    redis.call('ZREM', K_EXPIRY, rid)
end
for _, d in ipairs(due) do
    local rid, res_key, order_key = transition_item(t, d[1], d[2])
    expire_hold(t, d[2], rid, res_key, order_key)
end
return {ST_OK, #due}
