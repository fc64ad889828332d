-- budget.lua - budget.sh's daemon: one slow domain must not delay the
-- others.  SLOW and FRESH (domains) are unregistered and
-- were never checked (UnregisteredDomains check; the config names the
-- seed's selector, key, MX and SPF include).  slow's SPF is a chain of
-- includes each answered after a while (dns-faulty's slow fault), so
-- its check takes many times CheckWait; fresh's records answer at once.
--
-- 1. MAIL FROM slow: its check starts; the wait ends at CheckWait: 451.
-- 2. While slow's check runs (its last include not yet asked), MAIL FROM
--    fresh: its real decision (verified, accepted) well within
--    CheckWait, not a 451 after it.
-- 3. Once slow's check has ended (its event=check line), MAIL FROM slow
--    is decided from the stored state at once.
--
-- Variables (miltertest -D): LIB, SOCK, LOG as in common.lua (no TAP:
-- replies are read from the daemon's log, reply=), SLOW and FRESH,
-- CHECK_WAIT (seconds), SERVER_LOG (dns-faulty's stderr), LAST (the last
-- include's name), SLOW_WAIT (seconds slow's whole check may take).
local t = dofile(LIB .. "/common.lua")
local wait = tonumber(CHECK_WAIT)
local NO_WAIT = 0.5

-- decide QID SENDER - MAIL FROM on a new session: reply letter, log line,
-- seconds taken.
local function decide(qid, sender)
	local conn = t.connect()
	local t0 = t.now()
	t.must(mt.macro(conn, SMFIC_MAIL, "i", qid), "mt.macro")
	t.must(mt.mailfrom(conn, sender), "mt.mailfrom")
	local took = t.now() - t0
	local r = mt.getreply(conn)
	mt.disconnect(conn)
	return r, t.log_session(qid) or "", took
end

-- asked NAME - whether dns-faulty has been asked for NAME.
local function asked(name)
	for _, l in ipairs(t.lines(SERVER_LOG)) do
		if l:find(" " .. name .. ". ", 1, true) then
			return true
		end
	end
	return false
end

local r, log, took = decide("SLOW-1", "<u@" .. SLOW .. ">")
t.ok(string.format("slow domain: 451 after CheckWait (%.2fs)", took),
    t.field(log, "reply") == "451" and
    (t.field(log, "reason") or ""):find("check-timed-out", 1, true) ~= nil,
    log)

r, log, took = decide("FRESH-1", "<u@" .. FRESH .. ">")
local busy = not asked(LAST)
t.ok("fresh domain asked while the slow check runs", busy,
    LAST .. " was already asked: the slow check ended too soon")
t.ok(string.format("fresh domain: accepted, verified, in %.2fs of %ds",
    took, wait),
    (r == SMFIR_ACCEPT or r == SMFIR_CONTINUE) and
    t.field(log, "state") == "verified" and took < wait,
    string.format("%.2fs: %s", took, log))

t.WAIT_MAX = tonumber(SLOW_WAIT)
t.ok("slow domain: its check ends",
    t.log_wait("event=check domain=" .. SLOW .. " ", 1),
    "no event=check line for " .. SLOW)
r, log, took = decide("SLOW-2", "<u@" .. SLOW .. ">")
t.ok(string.format("slow domain, checked: decided at once (%.2fs)", took),
    t.field(log, "state") == "verified" and took < NO_WAIT,
    string.format("%.2fs: %s", took, log))
t.finish()
