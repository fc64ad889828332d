-- reload.lua - daemon A: SIGUSR1 reloads the config.  OnPending reject
-- becomes tempfail for new connections (a connection keeps the rules it
-- started with); a config the daemon refuses (OnUnknown reject) is logged
-- as reload-failed and the previous rules stay.
--
-- -D CONF (the daemon's file), CONF_TEMPFAIL, CONF_INVALID, DPID.
local t = dofile(LIB .. "/common.lua")
local c, x

-- reload FILE - install FILE as the config and send SIGUSR1.
local function reload(file)
	assert(os.execute("cp '" .. file .. "' '" .. CONF .. "'"))
	assert(os.execute("kill -USR1 " .. DPID))
end

local before = t.connect()
c, x = t.mail(before, "<user@pending.milter.test>", { "i", "RLD-1" })
t.expect("before the reload: pending gets 550 5.7.1", c, x, "550 5.7.1")

local ok_n = t.log_count("event=reload config=")
reload(CONF_TEMPFAIL)
t.ok("SIGUSR1: event=reload logged",
    t.log_wait("event=reload config=", ok_n + 1), "no event=reload line")

local after = t.connect()
c, x = t.mail(after, "<user@pending.milter.test>", { "i", "RLD-2" })
t.expect("after the reload: a new connection gets 451 4.7.1", c, x,
    "451 4.7.1", { "pending.milter.test" })
t.expect_log("after the reload: logged as tempfail", "RLD-2", {
	action = "tempfail", reply = "451", state = "pending",
})

c, x = t.mail(before, "<user@pending.milter.test>", { "i", "RLD-3" })
t.expect("a connection from before the reload keeps its rules (550)", c, x,
    "550 5.7.1")
mt.disconnect(before)
mt.disconnect(after)

local bad_n = t.log_count("event=reload-failed")
reload(CONF_INVALID)
t.ok("invalid config: event=reload-failed logged",
    t.log_wait("event=reload-failed", bad_n + 1), "no reload-failed line")
local line = t.log_find("event=reload-failed") or ""
t.ok("invalid config: the error names OnUnknown",
    line:find("OnUnknown", 1, true) ~= nil, line)
t.ok("invalid config: logged as an error",
    line:find(": error: ", 1, true) ~= nil, line)

local kept = t.connect()
c, x = t.mail(kept, "<user@pending.milter.test>", { "i", "RLD-4" })
t.expect("invalid config refused: the previous rules stay (451)", c, x,
    "451 4.7.1")
c, x = t.mail(kept, "<user@example.com>", { "i", "RLD-5" })
t.expect("invalid config refused: verified still accepted", c, x, "accept")
mt.disconnect(kept)

t.finish()
