-- wrk script of the decisions benchmark (bench/decisions.py).
--
--   wrk -t N -c N … -s bench/decisions.lua URL -- LINKS MODE N
--
-- LINKS is a file of link paths, one a line. Each wrk thread has one connection (-t = -c) and
-- takes every N-th link from its own offset, so no two connections share a link. MODE:
--   get     GET the thread's links in turn, over and over (a page view changes no decision);
--   decide  for each link in turn, GET the page, read the CSRF token the page rendered from
--           its body, POST the decision ("approve") with it; each link once.
-- A thread whose links run out stops. done() prints one line of JSON: wrk's own counts and
-- latency percentiles, and this script's counts of pages, tokens found and decisions answered.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local links, index, mode = {}, 0, "get"
local pending_token, current, last_was_get = nil, nil, false
gets, gets_ok, posts, posts_ok, no_token, exhausted = 0, 0, 0, 0, 0, 0

function init(args)
  local path, every = args[1], tonumber(args[3])
  mode = args[2]
  local n = 0
  for line in io.lines(path) do
    if n % every == id then
      table.insert(links, line)
    end
    n = n + 1
  end
end

local FORM = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  if pending_token ~= nil then
    local token = pending_token
    pending_token = nil
    last_was_get = false
    posts = posts + 1
    return wrk.format("POST", current, FORM, "csrf=" .. token .. "&action=approve")
  end
  index = index + 1
  if index > #links then
    if mode == "get" then
      index = 1
    else
      exhausted = 1
      wrk.thread:stop()
      index = #links  -- a GET of a decided link: the thread has stopped, it is not sent
    end
  end
  current = links[index]
  last_was_get = true
  gets = gets + 1
  return wrk.format("GET", current)
end

function response(status, headers, body)
  if not last_was_get then
    if status == 200 then
      posts_ok = posts_ok + 1
    end
    return
  end
  if status == 200 then
    gets_ok = gets_ok + 1
    if mode == "decide" then
      local token = body:match('name="csrf" value="([^"]+)"')
      if token then
        pending_token = token
      else
        no_token = no_token + 1
      end
    end
  end
end

function done(summary, latency, requests)
  local total = { gets = 0, gets_ok = 0, posts = 0, posts_ok = 0, no_token = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do
      total[name] = total[name] + (thread:get(name) or 0)
    end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, ' ..
    '"mean": %.1f}, "gets": %d, "gets_ok": %d, "posts": %d, "posts_ok": %d, "no_token": %d, ' ..
    '"exhausted_threads": %d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, total.gets, total.gets_ok, total.posts, total.posts_ok, total.no_token,
    total.exhausted))
end
