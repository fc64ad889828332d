-- hostile.lua - daemon A: senders with CR, LF, control bytes, bytes
-- above 0x7f, a forged log field and great length.  The reply is a clean
-- 550 5.1.7 (550 5.7.1 for the one well-formed sender, at a pending
-- domain; accept for a long local part at a verified domain, judged by
-- its domain); the log line is one line, printable, with the bytes
-- escaped once, and capped.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

-- The longest sender field: MILTER_SENDER_MAX (300) sanitized, within
-- LOG_FIELD_MAX (256), plus quotes and escaping.
local FIELD_CAP = 300
local LINE_CAP = 2100

-- name, MAIL FROM argument, reply class, an escape the logged sender
-- must show (log.h: sanitized once, so a CR is \x0d, not \\x0d).
local BAD = "550 5.1.7"
local cases = {
	{ "crlf", "<a\r\nb@example.com>", BAD, "\\x0d\\x0a" },
	{ "lf-forged-line", "<x@example.com>\n2030-01-01T00:00:00.000Z " ..
	    "authready-milter: info: session=FORGED action=accept", BAD,
	    "\\x0a" },
	{ "cr-in-domain", "<user@exa\rmple.com>", BAD, "\\x0d" },
	{ "controls", "<x\1y\27[2J\127@example.com>", BAD, "\\x1b" },
	{ "invalid-utf8", "<\255\254@example.com>", BAD, "\\xff" },
	{ "tab", "<a\tb@example.com>", BAD, "\\x09" },
	{ "forged-field", "<x@example.com> action=accept session=FORGED2", BAD,
	    nil },
	{ "quote", "<\"a\\\"b\"@pending.milter.test>", "550 5.7.1", nil },
	{ "long-local", "<" .. string.rep("a", 900) .. "@example.com>",
	    "accept", nil },
	{ "long-no-domain", "<" .. string.rep("a", 900) .. ">", BAD, nil },
	{ "long-domain", "<u@" .. string.rep("abcdefghi.", 85) .. "com>", BAD,
	    nil },
	{ "long-controls", "<" .. string.rep("\1\r\n", 280) .. "@x.example>",
	    BAD, "\\x01" },
}

for _, k in ipairs(cases) do
	local qid = "HOSTILE-" .. k[1]
	c, x = t.mail(conn, k[2], { "i", qid })
	t.expect(k[1] .. ": " .. k[3], c, x, k[3])
	local line = t.log_session(qid)
	local sender = t.field(line, "sender")
	if line == nil then
		t.fail(k[1] .. ": logged", "no log line for " .. qid)
	elseif line:find("[%z\1-\31\127-\255]") then
		t.fail(k[1] .. ": logged", "raw control bytes: " .. line)
	elseif #line > LINE_CAP then
		t.fail(k[1] .. ": logged", "line of " .. #line .. " octets")
	elseif sender == nil or #sender > FIELD_CAP then
		t.fail(k[1] .. ": logged", "sender field of " ..
		    (sender and #sender or "no") .. " octets")
	elseif k[4] ~= nil and not sender:find(k[4], 1, true) then
		t.fail(k[1] .. ": logged", "sender lacks " .. k[4] .. ": " ..
		    sender)
	elseif k[4] ~= nil and sender:find("\\\\x", 1, true) then
		-- \\x0d: the escape escaped again (sanitized twice)
		t.fail(k[1] .. ": logged", "escaped twice: " .. sender)
	else
		t.pass(k[1] .. ": one printable, capped log line")
	end
end
local forged
for _, l in ipairs(t.log_lines()) do
	if (t.field(l, "session") or ""):find("^FORGED") then
		forged = l
	end
end
t.ok("no forged session field in the log", forged == nil, forged)
t.ok("no forged field outside the quoted sender",
    t.log_count(" action=accept session=FORGED2") ==
    t.log_count("sender=\"<x@example.com> action=accept session=FORGED2"),
    t.log_find("FORGED2") or "")

mt.disconnect(conn)
t.finish()
