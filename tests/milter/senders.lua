-- senders.lua - daemon A: sender domains that must be matched to the
-- registered domain: case, a trailing dot, IDN U- and A-labels, and the
-- MAIL FROM subdomain (bounces@mail.D belongs to D).
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

c, x = t.mail(conn, "<User@EXAMPLE.COM>", { "i", "SND-UPPER" })
t.expect("upper-case EXAMPLE.COM: accept", c, x, "accept")
t.expect_log("upper-case: matched to example.com", "SND-UPPER", {
	domain = "example.com", state = "verified",
})

c, x = t.mail(conn, "<USER@PENDING.MILTER.TEST.>", { "i", "SND-UPPERDOT" })
t.expect("PENDING.MILTER.TEST.: 550 naming pending.milter.test", c, x,
    "550 5.7.1", { "pending.milter.test" })
t.expect_log("upper-case, trailing dot: matched", "SND-UPPERDOT", {
	domain = "pending.milter.test", state = "pending",
})

c, x = t.mail(conn, "<user@b\u{fc}cher.milter.test>", { "i", "SND-IDN" })
t.expect("IDN U-label: 550 naming the A-label", c, x, "550 5.7.1",
    { "xn--bcher-kva.milter.test" })
t.expect_log("IDN U-label: matched to xn--bcher-kva.milter.test", "SND-IDN", {
	domain = "xn--bcher-kva.milter.test", state = "pending",
})

c, x = t.mail(conn, "<user@B\u{dc}CHER.Milter.Test>", { "i", "SND-IDNUP" })
t.expect("IDN upper-case U-label: 550 naming the A-label", c, x,
    "550 5.7.1", { "xn--bcher-kva.milter.test" })

c, x = t.mail(conn, "<user@XN--BCHER-KVA.milter.test>", { "i", "SND-ALABEL" })
t.expect("IDN A-label in upper case: 550 naming the A-label", c, x,
    "550 5.7.1", { "xn--bcher-kva.milter.test" })

c, x = t.mail(conn, "<bounces@mail.example.com>", { "i", "SND-MAILFROM" })
t.expect("bounces@mail.example.com: accept", c, x, "accept")
t.expect_log("bounces@mail.example.com: judged as example.com",
    "SND-MAILFROM", { domain = "example.com", state = "verified" })

-- mail.pending.milter.test's organizational domain is milter.test (not
-- registered): only the MAIL FROM rule finds pending.milter.test.
c, x = t.mail(conn, "<bounces@Mail.Pending.Milter.Test>",
    { "i", "SND-MAILFROM2" })
t.expect("bounces@mail.pending.milter.test: 550 naming pending.milter.test",
    c, x, "550 5.7.1", { "pending.milter.test" })
t.expect_log("bounces@mail.pending.milter.test: judged as pending",
    "SND-MAILFROM2", { domain = "pending.milter.test", state = "pending" })

mt.disconnect(conn)
t.finish()
