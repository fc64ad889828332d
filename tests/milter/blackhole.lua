-- blackhole.lua - daemon D: DNSServers is a server that never answers,
-- DNSTimeout 2, CheckWait 1.  never.milter.test is registered and was
-- never checked.  The first MAIL FROM queues a check and waits CheckWait
-- for it, in vain: 451 4.7.1 (no state: OnUnknown, never a 5xx), within
-- CheckWait + 1s.  So does every message while the check runs.  Once the
-- check has ended undecided by DNS, the answer is 451 4.4.3 (OnDNSError)
-- at once, without waiting again.
local t = dofile(LIB .. "/common.lua")
local wait = tonumber(CHECK_WAIT)
local MESSAGES_MAX = 12
local NO_WAIT = 0.5
local conn = t.connect()

local n, timed_out, dnserror, bad = 0, 0, 0, 0
local first, last_took
while n < MESSAGES_MAX and dnserror < 2 do
	n = n + 1
	local qid = "BH-" .. n
	local t0 = t.now()
	local c, x = t.mail(conn, "<user@never.milter.test>", { "i", qid })
	local took = t.now() - t0
	local cls = t.class(c, x)
	local line = t.log_session(qid) or ""
	local reason = t.field(line, "reason") or ""
	local why
	first = first or cls
	if cls ~= "451 4.7.1" and cls ~= "451 4.4.3" then
		why = "reply " .. cls .. " \"" .. x .. "\""
	elseif took > wait + 1 then
		why = string.format("answered after %.2fs", took)
	elseif not x:find("never.milter.test", 1, true) then
		why = "reply text lacks the domain: " .. x
	elseif t.field(line, "state") ~= "unknown" then
		why = "log state " .. tostring(t.field(line, "state"))
	elseif cls == "451 4.7.1" then
		timed_out = timed_out + 1
		if not reason:find("check-timed-out", 1, true) then
			why = "4.7.1 without check-timed-out: " .. line
		elseif took < wait * 0.9 then
			why = string.format("timed out after only %.2fs", took)
		end
	else
		dnserror = dnserror + 1
		last_took = took
		if not reason:find("dns-trouble", 1, true) then
			why = "4.4.3 without dns-trouble: " .. line
		end
	end
	if why ~= nil then
		bad = bad + 1
		t.fail("message " .. n, why)
	end
end
mt.disconnect(conn)

t.ok("first message: the check timed out: 451 4.7.1", first == "451 4.7.1",
    tostring(first))
t.ok(string.format("%d messages: every reply a 451 within CheckWait + 1s " ..
    "(%d timed out, %d DNS trouble)", n, timed_out, dnserror), bad == 0,
    bad .. " wrong")
t.ok("after the check ended in DNS trouble: 451 4.4.3", dnserror == 2,
    dnserror .. " replies of 4.4.3 in " .. n .. " messages")
t.ok(string.format("DNS trouble recorded: no wait (%.2fs)", last_took or -1),
    last_took ~= nil and last_took < NO_WAIT, tostring(last_took))
t.finish()
