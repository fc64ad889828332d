-- replica.lua - one MAIL FROM for replica.sh: SENDER with the queue ID
-- QID through the daemon at SOCK; the decision is read from the
-- daemon's log line (session=QID) by replica.sh, so the reply code
-- (550 or 451) is known without a tap.
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
mt.echo("REPLY: " .. string.char(mt.getreply(conn)))
mt.disconnect(conn)
