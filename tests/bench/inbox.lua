-- tests/bench/inbox.lua: replays pre-signed inbox requests (gen_inbox) and
-- counts the answers by status. wrk -s inbox.lua URL -- FILE
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local f = assert(io.open(args[1], "rb"))
    local data = f:read("*a")
    f:close()
    reqs = {}
    local pos = 1
    while pos <= #data do
        local nl = data:find("\n", pos, true)
        local len = tonumber(data:sub(pos, nl - 1))
        reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
        pos = nl + 1 + len
    end
    -- Each thread starts at its own place, so threads send different activities.
    idx = math.random(#reqs)
    counts = {}
end

function request()
    idx = idx + 1
    if idx > #reqs then idx = 1 end
    return reqs[idx]
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local c = t:get("counts")
        for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
    end
    local line = "statuses:"
    for k, v in pairs(total) do line = line .. string.format(" %d=%d", k, v) end
    print(line)
end
