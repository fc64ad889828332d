-- replica.lua - one message for replica.sh: SENDER with the queue ID
-- QID through the daemon at SOCK; when MAIL FROM is answered "continue"
-- (FromCheck waits for the headers) a From header of FROM (default
-- SENDER) and the end of headers follow.  The decision is read from the
-- daemon's log line (session=QID) by replica.sh, so the reply code (550
-- or 451) is known without a tap.  With EOM=1 the message goes on to
-- its end (what a quarantine needs) and "QUARANTINED" is echoed when
-- the daemon asked for it.
local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then
	error("mt.connect(" .. SOCK .. ") failed")
end
if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then
	error("mt.conninfo failed")
end
if mt.macro(conn, SMFIC_MAIL, "i", QID) ~= nil then
	error("mt.macro failed")
end
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then
	error("mt.mailfrom failed")
end
local r = mt.getreply(conn)
mt.echo("REPLY: " .. string.char(r))
if r == SMFIR_CONTINUE then
	local from = FROM
	if from == nil or from == "" then
		from = SENDER
	end
	if mt.header(conn, "From", "<" .. from .. ">") ~= nil then
		error("mt.header failed")
	end
	if mt.eoh(conn) ~= nil then
		error("mt.eoh failed")
	end
	mt.echo("EOH: " .. string.char(mt.getreply(conn)))
	if EOM == "1" then
		if mt.eom(conn) ~= nil then
			error("mt.eom failed")
		end
		mt.echo("EOM: " .. string.char(mt.getreply(conn)))
		if mt.eom_check(conn, MT_QUARANTINE) then
			mt.echo("QUARANTINED")
		end
	end
end
mt.disconnect(conn)
