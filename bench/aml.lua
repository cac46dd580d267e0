-- wrk script: POST the body in file BODY with the headers in file HEADERS
-- ("Name: value" a line), as bench/amlsign printed them.
local f = io.open(os.getenv("BODY"), "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
for line in io.lines(os.getenv("HEADERS")) do
	local k, v = line:match("^([^:]+):%s*(.*)$")
	if k then wrk.headers[k] = v end
end
