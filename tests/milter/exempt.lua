-- exempt.lua - daemon A, with ExemptSenders postmaster@pending.milter.test
-- and ExemptDomains exempt.milter.test: an exempt mailbox is accepted in
-- every form an MTA passes it (angle brackets, none, a source route, an
-- upper-case domain with a trailing dot); its neighbours are not.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

local forms = {
	{ "<postmaster@pending.milter.test>", "EX-BRACKETS" },
	{ "postmaster@pending.milter.test", "EX-BARE" },
	{ "<@relay.example,@hop.example:postmaster@pending.milter.test>",
	  "EX-ROUTE" },
	{ "<postmaster@PENDING.Milter.TEST.>", "EX-CASE" },
}
for _, f in ipairs(forms) do
	c, x = t.mail(conn, f[1], { "i", f[2] })
	t.expect("exempt sender " .. f[1] .. ": accept", c, x, "accept")
	t.expect_log("exempt sender " .. f[1] .. ": logged as exempt", f[2], {
		level = "info", action = "accept", reason = "exempt sender",
		domain = "pending.milter.test",
	})
end

-- the local part is compared as sent: another mailbox of the domain is
-- judged, and so is the exempt name under another domain
c, x = t.mail(conn, "<other@pending.milter.test>", { "i", "EX-OTHER" })
t.expect("not exempt other@pending.milter.test: 550", c, x, "550 5.7.1",
    { "pending.milter.test" })
c, x = t.mail(conn, "<postmaster@failed.milter.test>", { "i", "EX-ELSE" })
t.expect("not exempt postmaster@failed.milter.test: 550", c, x,
    "550 5.7.1", { "failed.milter.test" })

-- an exempt domain, not registered: accepted without the check that
-- UnregisteredDomains check would run (so no state), and its subdomains
c, x = t.mail(conn, "<anyone@exempt.milter.test>", { "i", "EX-DOMAIN" })
t.expect("exempt domain exempt.milter.test: accept", c, x, "accept")
t.expect_log("exempt domain: logged as exempt, never checked", "EX-DOMAIN", {
	action = "accept", reason = "exempt domain", state = "unregistered",
})
c, x = t.mail(conn, "<a@mail.exempt.milter.test>", { "i", "EX-SUB" })
t.expect("below an exempt domain: accept", c, x, "accept")
t.expect_log("below an exempt domain: logged as exempt", "EX-SUB", {
	reason = "exempt domain", state = "unregistered",
})

mt.disconnect(conn)
t.finish()
