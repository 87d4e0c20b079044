-- wrk script: one recordInteraction (GraphQL) or one baseline write per request, each with a
-- unique idempotency key and a random contact. Args: path key contacts run-id mode
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  path, key, contacts, run, mode = args[1], args[2], tonumber(args[3]), args[4], args[5]
  counter, failures = 0, 0
  math.randomseed(tid * 7919)
  ts = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
end

function request()
  counter = counter + 1
  local k = run .. "-" .. tid .. "-" .. counter
  local cid = math.random(1, contacts)
  local body
  if mode == "graphql" then
    body = '{"query":"mutation R($i: InteractionInput!) { recordInteraction(input: $i) '
      .. '{ scoreDelta duplicate contact { id score } } }","variables":{"i":{"contactId":"'
      .. cid .. '","type":"EMAIL_OPEN","occurredAt":"' .. ts .. '","idempotencyKey":"' .. k .. '"}}}'
  else
    body = '{"contact_id":' .. cid .. ',"type":"EMAIL_OPEN","occurred_at":"' .. ts
      .. '","idempotency_key":"' .. k .. '"}'
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("failures")
  end
  io.write(string.format("failures=%d\n", total))
end
