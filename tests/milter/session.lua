-- session.lua - daemon A: an aborted transaction, then more messages on
-- the same connection; 50 messages with mixed senders on one connection,
-- each with its own reply and log line.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "SES-1" })
t.expect("first message: 550", c, x, "550 5.7.1")
t.must(mt.abort(conn), "mt.abort")
c, x = t.mail(conn, "<user@example.com>", { "i", "SES-2" })
t.expect("after an abort: the next message is judged afresh (accept)",
    c, x, "accept")
t.must(mt.abort(conn), "mt.abort")
c, x = t.mail(conn, "<user@failed.milter.test>", { "i", "SES-3" })
t.expect("after a second abort: 550 for failed", c, x, "550 5.7.1",
    { "failed.milter.test" })
mt.disconnect(conn)

-- sender, reply class, log domain (false: no domain field check)
local mix = {
	{ "<a@example.com>", "accept", "example.com" },
	{ "<b@pending.milter.test>", "550 5.7.1", "pending.milter.test" },
	{ "<c@degraded.milter.test>", "accept", "degraded.milter.test" },
	{ "<>", "accept", false },
	{ "<d@failed.milter.test>", "550 5.7.1", "failed.milter.test" },
	{ "<e@@example.com>", "550 5.1.7", false },
	{ "<bounces@mail.example.com>", "accept", "example.com" },
	{ "<F@Pending.Milter.Test>", "550 5.7.1", "pending.milter.test" },
	{ "<g@[127.0.0.1]>", "accept", false },
	{ "<h@EXAMPLE.com.>", "accept", "example.com" },
}
local many = 50
local bad = 0
conn = t.connect()
for n = 1, many do
	local m = mix[(n - 1) % #mix + 1]
	local qid = "MANY-" .. n
	c, x = t.mail(conn, m[1], { "i", qid })
	local got = t.class(c, x)
	local line = t.log_session(qid)
	local why
	if got ~= m[2] then
		why = "reply " .. got .. ", expected " .. m[2]
	elseif line == nil then
		why = "no log line"
	elseif m[3] and t.field(line, "domain") ~= m[3] then
		why = "log domain " .. tostring(t.field(line, "domain"))
	end
	if why ~= nil then
		bad = bad + 1
		t.fail("message " .. n .. " of " .. many .. " " .. m[1], why)
	end
end
mt.disconnect(conn)
t.ok(many .. " messages on one connection: every reply and log line right",
    bad == 0, bad .. " wrong")

t.finish()
