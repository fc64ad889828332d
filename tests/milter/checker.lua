-- checker.lua - daemon A: fresh.milter.test was registered a moment ago
-- and never checked; its records are published.  The first MAIL FROM
-- queues it to the checker thread and waits (at most CheckWait): it is
-- checked, verified, and this very message is accepted.
local t = dofile(LIB .. "/common.lua")
local wait = tonumber(CHECK_WAIT)
local conn = t.connect()
local c, x

local t0 = t.now()
c, x = t.mail(conn, "<user@fresh.milter.test>", { "i", "CHK-FRESH" })
local took = t.now() - t0
t.expect("never-checked domain with good records: accepted", c, x, "accept")
t.ok(string.format("checked within CheckWait (%.2fs of %ds)", took, wait),
    took < wait, string.format("took %.2fs", took))
t.expect_log("never-checked domain: logged as verified", "CHK-FRESH", {
	domain = "fresh.milter.test", state = "verified", action = "accept",
	reason_has = "verified",
})
t.ok("never-checked domain: no time-out in the log",
    not (t.log_session("CHK-FRESH") or ""):find("check-timed-out", 1, true),
    t.log_session("CHK-FRESH") or "")

t0 = t.now()
c, x = t.mail(conn, "<other@fresh.milter.test>", { "i", "CHK-FRESH2" })
took = t.now() - t0
t.expect("the next message: accepted from the stored state", c, x, "accept")
t.ok("the next message: no wait", took < 1, string.format("took %.2fs", took))

mt.disconnect(conn)
t.finish()
