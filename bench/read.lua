-- wrk script of bench/read.py: a contacts page or a contact card, from `segmento serve`
-- (POST /graphql) or a baseline (GET /page, GET /card/<id>). The card's contact is drawn at
-- random per request from 1..contacts. Args: mode(graphql|plain) query(page|card) key
-- contacts n first page-document card-document
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function quote(s)
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

function init(args)
  mode, query, key, contacts = args[1], args[2], args[3], tonumber(args[4])
  n, first, page_doc, card_doc = args[5], args[6], args[7], args[8]
  failures = 0
  math.randomseed(tid * 7919)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
  page_body = '{"query":' .. quote(page_doc) .. ',"variables":{"n":' .. n .. ',"first":'
    .. first .. '}}'
  card_head = '{"query":' .. quote(card_doc) .. ',"variables":{"id":"'
  page_path = "/page?n=" .. n .. "&first=" .. first
end

function request()
  if query == "page" then
    if mode == "graphql" then
      return wrk.format("POST", "/graphql", headers, page_body)
    end
    return wrk.format("GET", page_path, headers)
  end
  local id = math.random(1, contacts)
  if mode == "graphql" then
    return wrk.format("POST", "/graphql", headers, card_head .. id .. '"}}')
  end
  return wrk.format("GET", "/card/" .. id, headers)
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
