-- door.lua - daemon E (an inet socket, OnPending quarantine allowed by
-- UnsafeInetQuarantine yes): the held entry is marked as having come
-- through a TCP socket, so a release checks it against the hold queue.
local t = dofile(LIB .. "/common.lua")
local conn = t.connect()
local c, x

c, x = t.mail(conn, "<user@pending.milter.test>", { "i", "DOORINET1" })
t.expect("inet quarantine: MAIL FROM continues", c, x, "continue")
t.must(mt.eom(conn), "mt.eom")
t.ok("inet quarantine: SMFIR_QUARANTINE at end of message",
    mt.eom_check(conn, MT_QUARANTINE), "no quarantine")
t.ok("inet quarantine: the entry is marked door=inet",
    t.log_find("event=quarantine domain=pending.milter.test " ..
    "queue_id=DOORINET1 door=inet") ~= nil, "no door=inet line")
mt.disconnect(conn)

t.finish()
