-- actions.lua - daemon A (the default policy): one sender per readiness
-- state, the null sender, a malformed reverse-path, an address literal.
-- Checks the reply (code, enhanced code, text) and the log line.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

c, x = t.mail(conn, "<user@example.com>", { "i", "ACT-VERIFIED" })
t.expect("verified: accept", c, x, "accept")
t.expect_log("verified: one info line", "ACT-VERIFIED", {
	level = "info", client = "127.0.0.1", sender = "<user@example.com>",
	domain = "example.com", state = "verified", action = "accept",
	reply = false,
})

c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "ACT-PENDING" })
t.expect("pending: 550 5.7.1 naming the domain and the first record",
    c, x, "550 5.7.1",
    { "pending.milter.test", "MX mail.pending.milter.test missing" })
t.expect_log("pending: logged as reject 550", "ACT-PENDING", {
	domain = "pending.milter.test", state = "pending", action = "reject",
	reply = "550", reason_has = "MX mail.pending.milter.test missing",
})

c, x = t.mail(conn, "<user@failed.milter.test>", { "i", "ACT-FAILED" })
t.expect("failed: 550 5.7.1 naming the domain and the first record",
    c, x, "550 5.7.1",
    { "failed.milter.test", "MX mail.failed.milter.test missing" })
t.expect_log("failed: logged as reject 550", "ACT-FAILED", {
	domain = "failed.milter.test", state = "failed", action = "reject",
	reply = "550",
})

c, x = t.mail(conn, "<user@degraded.milter.test>", { "i", "ACT-DEGRADED" })
t.expect("degraded: accept", c, x, "accept")
t.expect_log("degraded: a warning naming the broken record", "ACT-DEGRADED", {
	level = "warning", domain = "degraded.milter.test",
	state = "degraded", action = "accept", reply = false,
	reason_has = "DKIM 1234rpr._domainkey.degraded.milter.test",
})

c, x = t.mail(conn, "<>", { "i", "ACT-NULL" })
t.expect("null sender <>: accept", c, x, "accept")
t.expect_log("null sender: logged", "ACT-NULL", {
	level = "info", action = "accept", reason = "null sender",
})

c, x = t.mail(conn, "<user@>", { "i", "ACT-MALFORMED" })
t.expect("malformed <user@>: 550 5.1.7", c, x, "550 5.1.7")
t.expect_log("malformed: logged as a bad reverse-path", "ACT-MALFORMED", {
	level = "warning", action = "reject", reply = "550",
	reason_has = "bad reverse-path",
})

c, x = t.mail(conn, "<user@example.com", { "i", "ACT-UNBALANCED" })
t.expect("malformed <user@example.com: 550 5.1.7", c, x, "550 5.1.7")

c, x = t.mail(conn, "<user@[192.0.2.1]>", { "i", "ACT-LITERAL" })
t.expect("address literal [192.0.2.1]: accept", c, x, "accept")
t.expect_log("address literal: a warning, no domain to look up",
    "ACT-LITERAL", {
	level = "warning", action = "accept", reason = "no sender domain",
})

c, x = t.mail(conn, "<user@[IPv6:2001:db8::1]>", { "i", "ACT-LITERAL6" })
t.expect("address literal [IPv6:2001:db8::1]: accept", c, x, "accept")

mt.disconnect(conn)
t.finish()
