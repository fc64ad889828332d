-- unregistered.lua - daemon U (UnregisteredDomains check, the default,
-- with the global Selector, KeyFile, MXHost and SPFInclude): unregistered
-- sender domains get a state from their first MAIL FROM, and that state
-- is re-checked, used and pruned like milter.sh's PHASE says:
--
--   1  first mail of unreg-p, unreg-q, unreg-a and unreg-b.test, none of
--      which publishes anything yet: each is checked and refused as
--      pending (550 5.7.1)
--   2  unreg-a.test sends again (its use is noted); still refused
--   3  unreg-p.test published its records and a due round re-checked it:
--      accepted
--   4  unreg-q.test published its records and authready refresh --all
--      re-checked it: accepted
local t = dofile(LIB .. "/common.lua")
local phase = tonumber(PHASE)
local conn = t.connect()
local c, x

-- refused DOMAIN QID - a sender of DOMAIN gets 550 5.7.1 as pending or
-- failed, from a state checked with the global expectations.
local function refused(domain, qid)
	c, x = t.mail(conn, "<user@" .. domain .. ">", { "i", qid })
	t.expect(domain .. ": refused", c, x, "550 5.7.1")
	local line = t.log_session(qid) or ""
	local st = t.field(line, "state")
	t.ok(domain .. ": logged with its state (pending or failed)",
	    t.field(line, "domain") == domain and
	    (st == "pending" or st == "failed"), line)
end

-- accepted DOMAIN QID - a sender of DOMAIN is accepted as verified.
local function accepted(domain, qid)
	c, x = t.mail(conn, "<user@" .. domain .. ">", { "i", qid })
	t.expect(domain .. ": accepted", c, x, "accept")
	t.expect_log(domain .. ": logged as verified", qid, {
		domain = domain, state = "verified", action = "accept",
	})
end

if phase == 1 then
	refused("unreg-p.test", "UNREG-P1")
	refused("unreg-q.test", "UNREG-Q1")
	refused("unreg-a.test", "UNREG-A1")
	refused("unreg-b.test", "UNREG-B1")
elseif phase == 2 then
	refused("unreg-a.test", "UNREG-A2")
elseif phase == 3 then
	accepted("unreg-p.test", "UNREG-P3")
elseif phase == 4 then
	accepted("unreg-q.test", "UNREG-Q4")
else
	error("PHASE must be 1 to 4, not " .. tostring(PHASE))
end

mt.disconnect(conn)
t.finish()
