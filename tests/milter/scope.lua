-- scope.lua - daemon A (InternalHosts: loopback, OutboundBy either):
-- mail from outside passes untouched and unlogged unless the client
-- authenticated; missing macros ({i}, {auth_authen}) are handled.
local t = dofile(LIB .. "/common.lua")
local c, x

-- A client outside InternalHosts, not authenticated.
local out = t.connect("192.0.2.7", "outside.example")
c, x = t.mail(out, "<scope-out@pending.milter.test>", { "i", "SCOPE-OUT" })
t.expect("outside client, no AUTH: accept", c, x, "accept")
t.ok("outside client, no AUTH: no log line",
    t.log_find("SCOPE-OUT") == nil and t.log_find("scope-out@") == nil,
    t.log_find("scope-out@") or "")

-- An empty {auth_authen} is no login.
c, x = t.mail(out, "<scope-empty@pending.milter.test>",
    { "i", "SCOPE-EMPTY", "{auth_authen}", "" })
t.expect("outside client, empty {auth_authen}: accept", c, x, "accept")
t.ok("outside client, empty {auth_authen}: no log line",
    t.log_find("scope-empty@") == nil, t.log_find("scope-empty@") or "")

-- The same client after AUTH: judged.
c, x = t.mail(out, "<scope-auth@pending.milter.test>",
    { "i", "SCOPE-AUTH", "{auth_authen}", "alice" })
t.expect("outside client with {auth_authen}: judged (550)", c, x,
    "550 5.7.1", { "pending.milter.test" })
t.expect_log("outside client with {auth_authen}: logged", "SCOPE-AUTH", {
	client = "192.0.2.7", domain = "pending.milter.test",
	action = "reject",
})
mt.disconnect(out)

-- A client of an unknown protocol family is not an internal host.
local unspec = t.connect("unspec", "localhost")
c, x = t.mail(unspec, "<scope-unspec@pending.milter.test>",
    { "i", "SCOPE-UNSPEC" })
t.expect("client of unknown family, no AUTH: accept", c, x, "accept")
t.ok("client of unknown family: no log line",
    t.log_find("scope-unspec@") == nil, t.log_find("scope-unspec@") or "")
mt.disconnect(unspec)

-- An internal client with no MAIL macros at all: no {i}, no
-- {auth_authen}.  The log names the session instead of a queue ID.
local bare = t.connect()
c, x = t.mail(bare, "<scope-nomacro@pending.milter.test>")
t.expect("no macros: judged (550)", c, x, "550 5.7.1")
local line = t.log_find("sender=<scope-nomacro@pending.milter.test>")
local session = t.field(line, "session")
t.ok("no {i}: the log line uses the session ID",
    session ~= nil and session:match("^s%d+$") ~= nil, line or "no log line")
c, x = t.mail(bare, "<scope-nomacro2@pending.milter.test>")
local line2 = t.log_find("sender=<scope-nomacro2@pending.milter.test>")
t.ok("no {i}: one session ID for every message of a connection",
    line2 ~= nil and t.field(line2, "session") == session, line2 or "none")
mt.disconnect(bare)

local other = t.connect()
c, x = t.mail(other, "<scope-nomacro3@pending.milter.test>")
local line3 = t.log_find("sender=<scope-nomacro3@pending.milter.test>")
t.ok("no {i}: another connection, another session ID",
    line3 ~= nil and t.field(line3, "session") ~= session, line3 or "none")
mt.disconnect(other)

t.finish()
