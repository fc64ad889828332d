-- monitor.lua - daemon C (OnPending monitor, OnFailed tempfail,
-- UnregisteredDomains accept).
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "MON-PENDING" })
t.expect("monitor: pending is accepted", c, x, "accept")
t.expect_log("monitor: the log shows would=reject", "MON-PENDING", {
	action = "monitor", would = "reject", reply = "550",
	state = "pending",
})

c, x = t.mail(conn, "<user@failed.milter.test>", { "i", "MON-FAILED" })
t.expect("OnFailed tempfail: 451 4.7.1 naming the domain", c, x,
    "451 4.7.1", { "failed.milter.test" })
t.expect_log("OnFailed tempfail: logged", "MON-FAILED", {
	action = "tempfail", reply = "451", state = "failed", would = false,
})

c, x = t.mail(conn, "<user@example.com>", { "i", "MON-VERIFIED" })
t.expect("verified: accept", c, x, "accept")
t.expect_log("verified: no would= field", "MON-VERIFIED", {
	action = "accept", would = false,
})

c, x = t.mail(conn, "<user@unregistered.example>", { "i", "MON-UNREG" })
t.expect("UnregisteredDomains accept: accept at once", c, x, "accept")
t.expect_log("UnregisteredDomains accept: logged", "MON-UNREG", {
	state = "unregistered", action = "accept",
	reason_has = "UnregisteredDomains",
})

mt.disconnect(conn)
t.finish()
