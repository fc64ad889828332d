-- eom.lua - daemon B (OnPending quarantine, OnFailed tag): the action is
-- taken at end of message; an aborted transaction leaves nothing behind.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

t.ok("negotiation: quarantine requested",
    mt.test_action(conn, SMFIF_QUARANTINE), "SMFIF_QUARANTINE not asked")
t.ok("negotiation: add header requested",
    mt.test_action(conn, SMFIF_ADDHDRS), "SMFIF_ADDHDRS not asked")

-- A tag decision, then the MTA aborts the transaction.
c, x = t.mail(conn, "<user@failed.milter.test>", { "i", "EOM-TAGABORT" })
t.expect("tag: MAIL FROM continues", c, x, "continue")
t.must(mt.abort(conn), "mt.abort")

-- quarantine, to the end.
c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "EOMQUARANTINE1" })
t.expect("quarantine: MAIL FROM continues", c, x, "continue")
local mark = t.tap_mark()
t.must(mt.eom(conn), "mt.eom")
local r = t.tap_since(mark)
t.ok("quarantine: the message is accepted at end of message",
    mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT,
    "reply " .. tostring(mt.getreply(conn)))
t.ok("quarantine: SMFIR_QUARANTINE at end of message",
    mt.eom_check(conn, MT_QUARANTINE), "no quarantine")
local reason
for _, f in ipairs(r) do
	if f.cmd == "q" then
		reason = f.text
	end
end
t.ok("quarantine: the reason names the domain and the problem",
    reason ~= nil and reason:find("pending.milter.test", 1, true) ~= nil and
    reason:find("MX mail.pending.milter.test missing", 1, true) ~= nil,
    tostring(reason))
t.ok("quarantine: the aborted tag is not applied",
    not mt.eom_check(conn, MT_HDRADD), "a header was added")
t.ok("quarantine: indexed under the domain with the queue ID",
    t.log_find("event=quarantine domain=pending.milter.test " ..
    "queue_id=EOMQUARANTINE1") ~= nil, "no event=quarantine line")
t.expect_log("quarantine: the decision is logged", "EOMQUARANTINE1", {
	action = "quarantine", state = "pending",
})

-- tag, to the end.
c, x = t.mail(conn, "<user@failed.milter.test>", { "i", "EOM-TAG" })
t.expect("tag: MAIL FROM continues", c, x, "continue")
t.must(mt.eom(conn), "mt.eom")
t.ok("tag: X-Authready added", mt.eom_check(conn, MT_HDRADD, "X-Authready"),
    "no X-Authready header")
local v = mt.getheader(conn, "X-Authready", 0) or ""
t.ok("tag: the header names the state, the domain and the problem",
    v:find("failed", 1, true) == 1 and
    v:find("domain=failed.milter.test", 1, true) ~= nil and
    v:find("MX mail.failed.milter.test missing", 1, true) ~= nil, v)
t.ok("tag: no quarantine", not mt.eom_check(conn, MT_QUARANTINE),
    "quarantined")

-- accept needs nothing at end of message.
c, x = t.mail(conn, "<user@example.com>", { "i", "EOM-VERIFIED" })
t.expect("verified: accept at MAIL FROM", c, x, "accept")

-- pending again, aborted after the body started: nothing at the next EOM.
c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "EOM-QABORT" })
t.expect("quarantine then abort: MAIL FROM continues", c, x, "continue")
t.must(mt.abort(conn), "mt.abort")
c, x = t.mail(conn, "<user@degraded.milter.test>", { "i", "EOM-DEGRADED" })
t.expect("degraded after an aborted quarantine: accept", c, x, "accept")
t.ok("the aborted quarantine is not indexed",
    t.log_find("queue_id=EOM-QABORT") == nil, "EOM-QABORT indexed")
mt.disconnect(conn)

-- quarantine without {i}: held, but there is no queue ID to index.
conn = t.connect()
c, x = t.mail(conn, "<noqid@pending.milter.test>")
t.expect("quarantine without {i}: continues", c, x, "continue")
t.must(mt.eom(conn), "mt.eom")
t.ok("quarantine without {i}: still quarantined",
    mt.eom_check(conn, MT_QUARANTINE), "no quarantine")
t.ok("quarantine without {i}: a warning says to release by hand",
    t.log_find("queue_id=- ") ~= nil, "no queue_id=- line")
mt.disconnect(conn)

t.finish()
