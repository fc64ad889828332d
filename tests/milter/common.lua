-- common.lua - helpers shared by the miltertest scripts of milter.sh.
--
-- SYNOPSIS
--	dofile(LIB .. "/common.lua")
--
-- DESCRIPTION
--	milter.sh runs every script as
--
--	    miltertest -s SCRIPT -D LIB=DIR -D SOCK=inet:PORT@127.0.0.1
--	        -D TAP=FILE -D LOG=FILE [-D NAME=VALUE...]
--
--	SOCK is not the daemon itself but a relay in front of it (the "tap"
--	of milter.sh) that appends one line per milter reply to TAP:
--
--	    CMD PAYLOAD
--
--	CMD is the reply letter (a accept, c continue, y reply code, h add
--	header, q quarantine...), PAYLOAD its data with a trailing NUL
--	dropped, an inner NUL written \0 and every other byte outside
--	printable ASCII (and the backslash) written \xHH.  miltertest keeps
--	only the letter of a MAIL FROM reply; the tap is how a script reads
--	the "550 5.7.1 text" of smfi_setreply().  The tap writes the line
--	before it passes the reply on, so it is there once a mt.* call
--	returns.
--
--	LOG is the daemon's stderr (Syslog no): one line per event,
--	"TIME authready-milter: LEVEL: key=value...".
--
--	Every check prints one "PASS: name" or "FAIL: name: why" line
--	through mt.echo(); milter.sh counts them.  A broken conversation
--	(mt.* returning an error) raises a Lua error, so miltertest exits
--	non-zero and milter.sh reports the script as failed.

local M = {}

M.failed = 0

-- The reply letters, as the tap writes them.
M.ACCEPT = "a"
M.CONTINUE = "c"
M.REPLY = "y"
M.TEMPFAIL = "t"
M.REJECT = "r"

-- How long to wait for a log line or a reload (seconds, 0.05 steps).
M.WAIT_STEP = 0.05
M.WAIT_MAX = 8

-- pass NAME - print a passed case.
function M.pass(name)
	mt.echo("PASS: " .. name)
end

-- fail NAME WHY - print a failed case.
function M.fail(name, why)
	M.failed = M.failed + 1
	mt.echo("FAIL: " .. name .. ": " .. M.printable(why))
end

-- ok NAME COND WHY - pass or fail NAME by COND; returns COND.
function M.ok(name, cond, why)
	if cond then
		M.pass(name)
	else
		M.fail(name, why or "condition false")
	end
	return cond
end

-- printable S - S with control and non-ASCII bytes as \xHH (for FAIL).
function M.printable(s)
	s = tostring(s)
	return (s:gsub("[^\32-\126]", function(c)
		return string.format("\\x%02x", c:byte())
	end))
end

-- must V WHAT - a mt.* call returned an error string: stop the script.
function M.must(v, what)
	if v ~= nil then
		error(what .. ": " .. tostring(v))
	end
end

-- lines PATH - every line of a file (empty when it cannot be read).
function M.lines(path)
	local t = {}
	local f = io.open(path, "rb")
	if f == nil then
		return t
	end
	for l in f:lines() do
		t[#t + 1] = l
	end
	f:close()
	return t
end

-- tap_mark - how many replies the tap has logged so far.
function M.tap_mark()
	return #M.lines(TAP)
end

-- tap_since MARK - the replies logged after MARK: { {cmd=, text=} ... }.
function M.tap_since(mark)
	local all = M.lines(TAP)
	local out = {}
	for i = mark + 1, #all do
		local cmd, text = all[i]:match("^(%S) ?(.*)$")
		out[#out + 1] = { cmd = cmd, text = text or "" }
	end
	return out
end

-- connect [IP [HOST]] - a new session; the client is IP (127.0.0.1).
function M.connect(ip, host)
	local conn = mt.connect(SOCK, 50, 0.1)
	if conn == nil then
		error("mt.connect(" .. SOCK .. ") failed")
	end
	M.must(mt.conninfo(conn, host or "localhost", ip or "127.0.0.1"),
	    "mt.conninfo")
	return conn
end

-- mail CONN SENDER [MACROS] - MAIL FROM with the MAIL macros (a table of
-- name, value pairs, e.g. {"i", "Q1"}; nil sends none).  Returns the
-- reply letter and payload as the tap saw them.
function M.mail(conn, sender, macros)
	local mark = M.tap_mark()
	if macros ~= nil and #macros > 0 then
		M.must(mt.macro(conn, SMFIC_MAIL, table.unpack(macros)),
		    "mt.macro")
	end
	M.must(mt.mailfrom(conn, sender), "mt.mailfrom")
	local r = M.tap_since(mark)
	local last = r[#r]
	if last == nil then
		return "?", "(no reply seen by the tap)"
	end
	if string.byte(last.cmd) ~= mt.getreply(conn) then
		error("tap and miltertest disagree: tap '" .. last.cmd ..
		    "', miltertest " .. tostring(mt.getreply(conn)))
	end
	return last.cmd, last.text
end

-- class CMD TEXT - "accept", "continue", "550 5.7.1", "451 4.7.1" ...
function M.class(cmd, text)
	if cmd == M.ACCEPT then
		return "accept"
	elseif cmd == M.CONTINUE then
		return "continue"
	elseif cmd == M.REPLY then
		local code, x = text:match("^(%d%d%d) (%d%.%d+%.%d+)")
		if code == nil then
			return "reply?" .. text
		end
		return code .. " " .. x
	elseif cmd == M.TEMPFAIL then
		return "tempfail (no text)"
	elseif cmd == M.REJECT then
		return "reject (no text)"
	end
	return "reply '" .. tostring(cmd) .. "'"
end

-- expect NAME CMD TEXT WANT [NEEDLES] - the reply is of class WANT and
-- its text holds every plain string in NEEDLES.
function M.expect(name, cmd, text, want, needles)
	local got = M.class(cmd, text)
	if got ~= want then
		return M.fail(name, "reply " .. got .. " \"" .. text ..
		    "\", expected " .. want)
	end
	for _, n in ipairs(needles or {}) do
		if not text:find(n, 1, true) then
			return M.fail(name, "reply text \"" .. text ..
			    "\" lacks \"" .. n .. "\"")
		end
	end
	M.pass(name)
	return true
end

-- log_lines - the daemon's log.
function M.log_lines()
	return M.lines(LOG)
end

-- log_find NEEDLE - the last log line holding NEEDLE (plain), or nil.
function M.log_find(needle)
	local all = M.log_lines()
	for i = #all, 1, -1 do
		if all[i]:find(needle, 1, true) then
			return all[i]
		end
	end
	return nil
end

-- log_session QID - the decision line of session QID, or nil.
function M.log_session(qid)
	return M.log_find("session=" .. qid .. " ")
end

-- log_count NEEDLE - how many log lines hold NEEDLE.
function M.log_count(needle)
	local n = 0
	for _, l in ipairs(M.log_lines()) do
		if l:find(needle, 1, true) then
			n = n + 1
		end
	end
	return n
end

-- log_wait NEEDLE COUNT - wait until COUNT lines hold NEEDLE.
function M.log_wait(needle, count)
	local waited = 0
	while M.log_count(needle) < count do
		if waited >= M.WAIT_MAX then
			return false
		end
		mt.sleep(M.WAIT_STEP)
		waited = waited + M.WAIT_STEP
	end
	return true
end

-- field LINE KEY - the value of key=value in a log line (quotes kept
-- off), or nil.
function M.field(line, key)
	if line == nil then
		return nil
	end
	local q = line:match(" " .. key .. "=\"(.-[^\\])\"")
	if q ~= nil then
		return q
	end
	return line:match(" " .. key .. "=([^ \"]*)")
end

-- expect_log NAME QID WANT - the log line of QID has every key=value of
-- the table WANT (a value of false: the key must be absent); WANT.level
-- is the priority word ("info", "warning").
function M.expect_log(name, qid, want)
	local line = M.log_session(qid)
	if line == nil then
		return M.fail(name, "no log line for session=" .. qid)
	end
	for k, v in pairs(want) do
		if k == "level" then
			if not line:find(": " .. v .. ": ", 1, true) then
				return M.fail(name, "not logged at " .. v ..
				    ": " .. line)
			end
		elseif k == "reason_has" then
			local r = M.field(line, "reason") or ""
			if not r:find(v, 1, true) then
				return M.fail(name, "reason lacks \"" .. v ..
				    "\": " .. line)
			end
		elseif v == false then
			if M.field(line, k) ~= nil then
				return M.fail(name, k .. "= present: " .. line)
			end
		elseif M.field(line, k) ~= v then
			return M.fail(name, k .. "=" ..
			    tostring(M.field(line, k)) .. ", expected " .. v ..
			    ": " .. line)
		end
	end
	M.pass(name)
	return true
end

-- now - wall-clock seconds with a fraction (date +%s.%N).
function M.now()
	local p = io.popen("date +%s.%N")
	local s = p:read("*l")
	p:close()
	return tonumber(s)
end

-- finish - the last line of a script: how many of its cases failed
-- (milter.sh counts the FAIL lines; this one is for a reader).
function M.finish()
	mt.echo(string.format("# %s: %d failed", SCRIPT or "script",
	    M.failed))
end

return M
