-- fromcheck.lua - fromcheck.sh's daemons: the From header judged at end
-- of headers.  example.com is verified, nodkim.example.org pending.
--
-- MODE (enforce, monitor or off) says which daemon SOCK is:
--   enforce  MAIL FROM of a verified sender is answered "continue" (the
--            decision waits for the headers); at end of headers the
--            From domain decides when it is worse: a pending From
--            behind a verified envelope, whatever its display name or
--            comment says, is refused 550; a missing From, two From
--            fields, two mailboxes and an unparsable From get their
--            actions (reject); the null sender is judged on its From
--            alone; a pending envelope is still refused at MAIL FROM.
--            Every line names both identities and both states, and a
--            session has that one line (none at MAIL FROM).
--   monitor  the same messages are accepted; the line says from_would.
--   off      MAIL FROM of a verified sender is accepted at once and
--            logged there, without a From.
--   spf      AlignmentRequired spf: a From in another organization than
--            the MAIL FROM is refused 550 at end of headers although
--            DKIM aligns; the seed's MAIL FROM subdomain aligns; the
--            null sender is judged through DKIM alone.
-- Alignment (enforce, AlignmentRequired either): sub.example.net and
-- alignstrict.example.org (adkim=s, aspf=s) are verified too.  A From of
-- example.com behind sub.example.net aligns through DKIM; a From of
-- news.alignstrict.example.org (owned by alignstrict.example.org, its
-- nearest registered parent) aligns neither way and is refused 550,
-- also for the null sender; a From of exactly alignstrict.example.org
-- aligns through DKIM.  The line says align= and, when it fails,
-- misaligned= (the AlignmentRequired setting).
--
-- Variables (miltertest -D): LIB, SOCK, LOG as in common.lua (no TAP:
-- the reply code is read from the daemon's log, reply=), MODE.
local t = dofile(LIB .. "/common.lua")
SCRIPT = "fromcheck.lua"

local GOOD = "example.com"
local PEND = "nodkim.example.org"
local OTHER = "sub.example.net"
local STRICT = "alignstrict.example.org"

-- message QID SENDER FROMS - one message: MAIL FROM, the From fields in
-- FROMS (a list of values), end of headers.  Returns the MAIL FROM
-- reply letter, the end-of-headers reply letter (nil when MAIL FROM
-- ended it) and the session's log line.
local function message(qid, sender, froms)
	local conn = t.connect()
	t.must(mt.macro(conn, SMFIC_MAIL, "i", qid), "mt.macro")
	t.must(mt.mailfrom(conn, sender), "mt.mailfrom")
	local r1 = mt.getreply(conn)
	local r2 = nil
	if r1 == SMFIR_CONTINUE then
		t.must(mt.header(conn, "To", "<rcpt@recipient.test>"),
		    "mt.header")
		for _, v in ipairs(froms) do
			t.must(mt.header(conn, "From", v), "mt.header")
		end
		t.must(mt.header(conn, "Subject", "test"), "mt.header")
		t.must(mt.eoh(conn), "mt.eoh")
		r2 = mt.getreply(conn)
	end
	mt.disconnect(conn)
	return r1, r2, t.log_session(qid)
end

-- lines QID - how many log lines session QID has (one decision line).
local function lines(qid)
	return t.log_count("session=" .. qid .. " ")
end

-- judged NAME QID SENDER FROMS R2 WANT - MAIL FROM continued, end of
-- headers answered R2, the log line has WANT and is the only one.
local function judged(name, qid, sender, froms, r2, want)
	local a, b, line = message(qid, sender, froms)
	if a ~= SMFIR_CONTINUE or b ~= r2 then
		return t.fail(name, string.format(
		    "replies %s/%s, expected continue/%s: %s", tostring(a),
		    tostring(b), tostring(r2), tostring(line)))
	end
	if line ~= nil and lines(qid) ~= 1 then
		return t.fail(name, string.format(
		    "%d decision lines for session=%s, expected one",
		    lines(qid), qid))
	end
	return t.expect_log(name, qid, want)
end

if MODE == "enforce" then
	judged("both verified: accepted at end of headers", "E1",
	    "<a@" .. GOOD .. ">", { "Jane <jane@" .. GOOD .. ">" },
	    SMFIR_ACCEPT, { sender = "<a@" .. GOOD .. ">", domain = GOOD,
	    state = "verified", from = "jane@" .. GOOD, from_domain = GOOD,
	    from_state = "verified", action = "accept",
	    decided = "envelope", level = "info" })
	judged("pending From behind a verified envelope: 550", "E2",
	    "<a@" .. GOOD .. ">", { "x@" .. PEND },
	    SMFIR_REPLYCODE, { domain = GOOD, state = "verified",
	    from_domain = PEND, from_state = "pending", action = "reject",
	    reply = "550", decided = "from" })
	judged("quoted display name with a good address: the pending one",
	    "E3", "<a@" .. GOOD .. ">",
	    { "\"ok@" .. GOOD .. "\" <x@" .. PEND .. ">" },
	    SMFIR_REPLYCODE, { from_domain = PEND, from_state = "pending",
	    action = "reject", decided = "from" })
	judged("comment with a good address: the pending one", "E4",
	    "<a@" .. GOOD .. ">", { "x@" .. PEND .. " (ok@" .. GOOD .. ")" },
	    SMFIR_REPLYCODE, { from_domain = PEND, action = "reject" })
	judged("folded From, upper case, trailing dot", "E5",
	    "<a@" .. GOOD .. ">", { "Jane\r\n\t<JANE@EXAMPLE.COM.>" },
	    SMFIR_ACCEPT, { from_domain = GOOD, action = "accept" })
	judged("no From: 550 from-missing", "E6", "<a@" .. GOOD .. ">", {},
	    SMFIR_REPLYCODE, { from_state = "from-missing",
	    action = "reject", reply = "550", decided = "header",
	    level = "warning" })
	judged("two From fields: 550 from-multiple", "E7",
	    "<a@" .. GOOD .. ">", { "a@" .. GOOD, "b@" .. GOOD },
	    SMFIR_REPLYCODE, { from_state = "from-multiple",
	    action = "reject", decided = "header" })
	judged("two mailboxes: 550 from-mailboxes", "E8",
	    "<a@" .. GOOD .. ">", { "<x@" .. PEND .. ">, a@" .. GOOD },
	    SMFIR_REPLYCODE, { from_state = "from-mailboxes",
	    action = "reject", decided = "header" })
	judged("unparsable From: 550 from-invalid", "E9",
	    "<a@" .. GOOD .. ">", { "a@" .. GOOD .. "@" .. PEND },
	    SMFIR_REPLYCODE, { from_state = "from-invalid",
	    action = "reject", reason_has = "'@' where ',' was expected" })
	judged("null sender, verified From: accepted", "E10", "<>",
	    { "postmaster@" .. GOOD }, SMFIR_ACCEPT,
	    { from_domain = GOOD, from_state = "verified",
	    action = "accept" })
	judged("null sender, pending From: 550", "E11", "<>",
	    { "postmaster@" .. PEND }, SMFIR_REPLYCODE,
	    { from_domain = PEND, action = "reject", decided = "from" })
	local a, b, line = message("E12", "<a@" .. PEND .. ">",
	    { "a@" .. GOOD })
	t.ok("pending envelope: 550 at MAIL FROM, as before, one line",
	    a == SMFIR_REPLYCODE and b == nil and
	    t.field(line, "reply") == "550" and
	    t.field(line, "from") == nil and lines("E12") == 1,
	    tostring(line))
	judged("the seed's layout aligns both ways", "E13",
	    "<b@mail." .. GOOD .. ">", { "x@" .. GOOD }, SMFIR_ACCEPT,
	    { action = "accept", align = "dkim+spf", misaligned = false })
	judged("another org's MAIL FROM: aligned through DKIM", "E14",
	    "<a@" .. OTHER .. ">", { "x@" .. GOOD }, SMFIR_ACCEPT,
	    { domain = OTHER, state = "verified", from_domain = GOOD,
	    from_state = "verified", action = "accept", align = "dkim",
	    misaligned = false })
	judged("adkim=s, aspf=s, From a subdomain: 550 misaligned", "E15",
	    "<b@mail." .. STRICT .. ">", { "n@news." .. STRICT },
	    SMFIR_REPLYCODE, { domain = STRICT, state = "verified",
	    from = "n@news." .. STRICT, from_domain = STRICT,
	    from_state = "verified",
	    action = "reject", reply = "550", decided = "alignment",
	    align = "none", misaligned = "either",
	    reason_has = "misaligned: From news." .. STRICT ..
	    ", MAIL FROM mail." .. STRICT, level = "warning" })
	judged("adkim=s, From exactly the key's domain: aligned", "E16",
	    "<b@mail." .. STRICT .. ">", { "x@" .. STRICT }, SMFIR_ACCEPT,
	    { from_domain = STRICT, action = "accept", align = "dkim" })
	judged("null sender, misaligned From: 550", "E17", "<>",
	    { "postmaster@news." .. STRICT }, SMFIR_REPLYCODE,
	    { action = "reject", decided = "alignment", align = "none" })
elseif MODE == "spf" then
	judged("spf: another org's MAIL FROM: 550 misaligned", "S1",
	    "<a@" .. OTHER .. ">", { "x@" .. GOOD }, SMFIR_REPLYCODE,
	    { domain = OTHER, from_domain = GOOD, action = "reject",
	    reply = "550", decided = "alignment", align = "dkim",
	    misaligned = "spf" })
	judged("spf: the seed's MAIL FROM subdomain aligns", "S2",
	    "<b@mail." .. GOOD .. ">", { "x@" .. GOOD }, SMFIR_ACCEPT,
	    { action = "accept", align = "dkim+spf" })
	judged("spf: the null sender through DKIM alone", "S3", "<>",
	    { "postmaster@" .. GOOD }, SMFIR_ACCEPT,
	    { action = "accept", align = "dkim", misaligned = false })
elseif MODE == "monitor" then
	judged("monitor: pending From accepted, from_would=reject", "M1",
	    "<a@" .. GOOD .. ">", { "x@" .. PEND }, SMFIR_ACCEPT,
	    { from_domain = PEND, from_state = "pending", action = "accept",
	    from_would = "reject", decided = "envelope" })
	judged("monitor: no From accepted, from_would=reject", "M2",
	    "<a@" .. GOOD .. ">", {}, SMFIR_ACCEPT,
	    { from_state = "from-missing", action = "accept",
	    from_would = "reject" })
	judged("monitor: both verified, from_would=accept", "M3",
	    "<a@" .. GOOD .. ">", { "a@" .. GOOD }, SMFIR_ACCEPT,
	    { action = "accept", from_would = "accept" })
else
	local a, b, line = message("O1", "<a@" .. GOOD .. ">",
	    { "x@" .. PEND })
	t.ok("off: accepted at MAIL FROM, no From judged, one line",
	    a == SMFIR_ACCEPT and b == nil and
	    t.field(line, "action") == "accept" and
	    t.field(line, "from_domain") == nil and lines("O1") == 1,
	    tostring(line))
end
t.finish()
