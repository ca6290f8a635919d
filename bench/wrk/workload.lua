-- wrk script for bench/run. One file for every workload; bench/run sets:
--   BENCH_WORKLOAD   create | get | query | update | me | get-session | query-roles |
--                    query-roles-master | login | function | create-hooked
--   BENCH_PREFIX     mount path, "/parse"
--   BENCH_APP_ID     X-Parse-Application-Id
--   BENCH_MASTER_KEY X-Parse-Master-Key (create, get, query, update, query-roles-master only)
--   BENCH_IDS        file with one objectId per line (get, update, get-session)
--   BENCH_USERS      file with one "username<TAB>password<TAB>sessionToken" per line
--                    (me, get-session, login); usernames and passwords need no JSON escaping
--   BENCH_SCORE_MAX  scores are random ints in [0, BENCH_SCORE_MAX)
--   BENCH_ROLE_TOKEN session token of the user in the nested roles (query-roles)
-- me, get-session, query-roles and login send no master key: X-Parse-Application-Id only, plus
-- X-Parse-Session-Token for me, get-session and query-roles.
-- query-roles and query-roles-master send the query workload's request to BenchSecret, as the
-- role user (one fixed session token) and with the master key.
-- function calls the cloud function benchNoop; create-hooked creates in BenchHooked, which has a
-- no-op beforeSave (bench/cloud/main.js).
-- done() prints one line "BENCH_RESULT {json}" that bench/run parses.

local workload = os.getenv("BENCH_WORKLOAD") or "get"
local prefix = os.getenv("BENCH_PREFIX") or "/parse"
local ids_file = os.getenv("BENCH_IDS")
local users_file = os.getenv("BENCH_USERS")
local score_max = tonumber(os.getenv("BENCH_SCORE_MAX") or "100000")
local headers = {
  ["X-Parse-Application-Id"] = os.getenv("BENCH_APP_ID") or "bench",
  ["X-Parse-Master-Key"] = os.getenv("BENCH_MASTER_KEY") or "bench-master",
  ["Content-Type"] = "application/json",
}
-- me, get-session, login: a client without the master key. X-Parse-Session-Token is set per
-- request (one table per wrk thread, so changing it in request() is safe).
local client_headers = {
  ["X-Parse-Application-Id"] = os.getenv("BENCH_APP_ID") or "bench",
  ["Content-Type"] = "application/json",
}
local class_path = prefix .. "/classes/BenchItem"
local secret_path = prefix .. "/classes/BenchSecret"
-- query-roles: the user in the nested roles, one session token for every request.
local role_headers = {
  ["X-Parse-Application-Id"] = os.getenv("BENCH_APP_ID") or "bench",
  ["X-Parse-Session-Token"] = os.getenv("BENCH_ROLE_TOKEN") or "",
  ["Content-Type"] = "application/json",
}
-- where={"score":{"$gte":N}}&order=-score&limit=10, URL-encoded (query, query-roles*)
local query_format = "%s?where=%%7B%%22score%%22%%3A%%7B%%22%%24gte%%22%%3A%d%%7D%%7D&order=-score&limit=10"
local me_path = prefix .. "/users/me"
local login_path = prefix .. "/login"
local increment = '{"score":{"__op":"Increment","amount":1}}'

local next_thread = 1
function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

local ids = {}
local n_ids = 0
local users = {} -- { {username, password, token}, ... }
local n_users = 0

function init(args)
  if workload == "query-roles" then
    assert(#role_headers["X-Parse-Session-Token"] > 0, "BENCH_ROLE_TOKEN is not set")
  end
  math.randomseed(os.time() + 7919 * (thread_no or 0))
  if workload == "get" or workload == "update" or workload == "get-session" then
    assert(ids_file, "BENCH_IDS is not set")
    for line in io.lines(ids_file) do
      if #line > 0 then
        n_ids = n_ids + 1
        ids[n_ids] = line
      end
    end
    assert(n_ids > 0, "no ids in " .. ids_file)
  end
  if workload == "me" or workload == "get-session" or workload == "login" then
    assert(users_file, "BENCH_USERS is not set")
    for line in io.lines(users_file) do
      local username, password, token = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
      if username then
        n_users = n_users + 1
        users[n_users] = { username, password, token }
      end
    end
    assert(n_users > 0, "no users in " .. users_file)
  end
end

function request()
  if workload == "create" then
    local body = string.format('{"score":%d,"name":"item-%d"}',
      math.random(0, score_max - 1), math.random(1, 1000000000))
    return wrk.format("POST", class_path, headers, body)
  elseif workload == "get" then
    return wrk.format("GET", class_path .. "/" .. ids[math.random(n_ids)], headers)
  elseif workload == "query" then
    local path = string.format(query_format, class_path, math.random(0, score_max - 1))
    return wrk.format("GET", path, headers)
  elseif workload == "query-roles" then
    local path = string.format(query_format, secret_path, math.random(0, score_max - 1))
    return wrk.format("GET", path, role_headers)
  elseif workload == "query-roles-master" then
    local path = string.format(query_format, secret_path, math.random(0, score_max - 1))
    return wrk.format("GET", path, headers)
  elseif workload == "update" then
    return wrk.format("PUT", class_path .. "/" .. ids[math.random(n_ids)], headers, increment)
  elseif workload == "me" then
    client_headers["X-Parse-Session-Token"] = users[math.random(n_users)][3]
    return wrk.format("GET", me_path, client_headers)
  elseif workload == "get-session" then
    client_headers["X-Parse-Session-Token"] = users[math.random(n_users)][3]
    return wrk.format("GET", class_path .. "/" .. ids[math.random(n_ids)], client_headers)
  elseif workload == "function" then
    return wrk.format("POST", prefix .. "/functions/benchNoop", headers, "{}")
  elseif workload == "create-hooked" then
    local body = string.format('{"score":%d,"name":"item-%d"}',
      math.random(0, score_max - 1), math.random(1, 1000000000))
    return wrk.format("POST", prefix .. "/classes/BenchHooked", headers, body)
  elseif workload == "login" then
    local u = users[math.random(n_users)]
    local body = string.format('{"username":"%s","password":"%s"}', u[1], u[2])
    return wrk.format("POST", login_path, client_headers, body)
  end
  error("unknown BENCH_WORKLOAD " .. workload)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
