-- corpus.lua - daemon C (UnregisteredDomains accept, so no sender waits
-- for a check): every line of tests/revpath-corpus.txt (-D CORPUS) goes
-- through the milter as MAIL FROM; the reply class must be the corpus's
-- (accept, accept-null and accept-literal are an accept, "550 5.1.7" the
-- reply of that code), and the log line must say which kind it was and
-- name a local part over 64 octets and a path over 256 octets (oddity=).
--
-- Skipped: inputs holding a NUL (the milter protocol passes MAIL FROM as
-- a C string, so the MTA can never send one) and inputs over
-- MILTERTEST_MAX octets (miltertest's buffer).
local t = dofile(LIB .. "/common.lua")

local MILTERTEST_MAX = 1000
local SHOW_MAX = 40

-- decode S - the corpus's C-style escapes and the \*N extension.
local function decode(s)
	local out = {}
	local i = 1
	local simple = { ["\\"] = "\\", ['"'] = '"', t = "\t", r = "\r",
	    n = "\n", ["0"] = "\0" }
	while i <= #s do
		local ch = s:sub(i, i)
		if ch ~= "\\" then
			out[#out + 1] = ch
			i = i + 1
		else
			local e = s:sub(i + 1, i + 1)
			if simple[e] ~= nil then
				out[#out + 1] = simple[e]
				i = i + 2
			elseif e == "x" and s:sub(i + 2, i + 3):match("^%x%x$") then
				out[#out + 1] = string.char(tonumber(s:sub(i + 2,
				    i + 3), 16))
				i = i + 4
			elseif e == "*" and s:match("^%d+", i + 2) then
				local digits = s:match("^%d+", i + 2)
				local want = tonumber(digits)
				local prev = out[#out]
				if prev == nil then
					return nil, "\\* with no byte before it"
				end
				local run = 0
				for k = #out, 1, -1 do
					if out[k] ~= prev then
						break
					end
					run = run + 1
				end
				for _ = run + 1, want do
					out[#out + 1] = prev
				end
				i = i + 2 + #digits
			else
				return nil, "bad escape \\" .. e
			end
		end
	end
	return table.concat(out)
end

-- local_len INPUT - octets of the local part of a parsed mailbox: the
-- brackets, spaces around and a source route taken off, up to the last
-- '@'.  A local part over LOCAL_MAX is let through with an oddity= field.
local LOCAL_MAX = 64
local PATH_MAX = 256
local function local_len(input)
	local s = input:match("^ *(.-) *$")
	s = s:match("^<(.*)>$") or s
	if s:sub(1, 1) == "@" then
		s = s:match("^[^:]*:(.*)$") or s
	end
	local at = s:match("^.*()@")
	return at ~= nil and at - 1 or 0
end

-- path_len INPUT - octets of the reverse-path as revpath.c measures it:
-- as passed, with the brackets a bare path lacks.
local function path_len(input)
	local s = input:match("^ *(.-) *$")
	return #input + (s:sub(1, 1) == "<" and 0 or 2)
end

-- oddity_of INPUT - the oddity= a mailbox let through must carry, or nil.
local function oddity_of(input)
	local odd = {}
	if path_len(input) > PATH_MAX then
		odd[#odd + 1] = "path-over-256"
	end
	if local_len(input) > LOCAL_MAX then
		odd[#odd + 1] = "local-part-over-64"
	end
	return #odd > 0 and table.concat(odd, ",") or nil
end

-- The reply class and the log reason each corpus reply stands for.
local kinds = {
	["accept"] = { class = "accept", reason = nil },
	["accept-null"] = { class = "accept", reason = "null sender" },
	["accept-literal"] = { class = "accept", reason = "no sender domain" },
	["550 5.1.7"] = { class = "550 5.1.7", reason = "bad reverse-path" },
}

local f = io.open(CORPUS, "rb")
if f == nil then
	error("cannot open " .. CORPUS)
end
local conn = t.connect()
local total, skipped_nul, skipped_long, bad, lineno = 0, 0, 0, 0, 0
for line in f:lines() do
	lineno = lineno + 1
	if line:match("^%s*$") or line:match("^#") then
		goto next
	end
	local raw, expect, reply = line:match('^"(.*)"\t([^\t]+)\t([^\t]+)')
	local kind = kinds[reply or ""]
	local input, derr
	if raw ~= nil then
		input, derr = decode(raw)
	end
	if raw == nil or kind == nil or input == nil then
		bad = bad + 1
		t.fail("corpus line " .. lineno, "cannot parse (" ..
		    (derr or "fields") .. "): " .. line)
		goto next
	end
	if input:find("\0", 1, true) then
		skipped_nul = skipped_nul + 1
		goto next
	end
	if #input > MILTERTEST_MAX then
		skipped_long = skipped_long + 1
		goto next
	end
	total = total + 1
	do
		local qid = "CORPUS-" .. lineno
		local c, x = t.mail(conn, input, { "i", qid })
		local got = t.class(c, x)
		local log = t.log_session(qid)
		local why
		if got ~= kind.class then
			why = "reply " .. got .. " \"" .. x .. "\", expected " ..
			    reply .. " (" .. expect .. ")"
		elseif log == nil then
			why = "no log line"
		else
			local r = t.field(log, "reason") or ""
			if kind.reason ~= nil and
			    r:find(kind.reason, 1, true) ~= 1 then
				why = "logged reason \"" .. r .. "\", expected " ..
				    kind.reason .. " (" .. reply .. ")"
			elseif kind.reason == nil and (r == "null sender" or
			    r == "no sender domain" or
			    r:find("bad reverse-path", 1, true)) then
				why = "logged reason \"" .. r ..
				    "\" for a sender with a domain"
			elseif kind.class == "accept" and reply ~= "accept-null" and
			    t.field(log, "oddity") ~= oddity_of(input) then
				why = "oddity=" .. tostring(t.field(log, "oddity")) ..
				    " for a local part of " .. local_len(input) ..
				    " octets in a path of " .. path_len(input) ..
				    ", expected " .. tostring(oddity_of(input))
			end
		end
		if why ~= nil then
			bad = bad + 1
			if bad <= SHOW_MAX then
				t.fail("corpus line " .. lineno .. " " ..
				    t.printable(input), why)
			end
		end
	end
	::next::
end
f:close()
mt.disconnect(conn)
if bad > SHOW_MAX then
	t.fail("corpus", (bad - SHOW_MAX) .. " more lines wrong")
end
t.ok(string.format("corpus: %d inputs through the milter, every reply " ..
    "class right (%d with a NUL and %d over %d octets skipped)", total,
    skipped_nul, skipped_long, MILTERTEST_MAX), bad == 0 and total > 0,
    bad .. " wrong")
t.finish()
