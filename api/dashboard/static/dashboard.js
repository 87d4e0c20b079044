// The sales dashboard: hot-lead alerts and tier moves live over WebSocket, the tier
// distribution, the top contacts and the KPIs over HTTP. Every GraphQL document it sends is
// one of those served at operations/: the contract's own
// frontend-contract/operations/Dashboard*.graphql.
import { LiveClient } from "./live.js";

const KEY_STORAGE = "segmento.dashboard.apiKey";
const MAX_ALERTS = 200; // rows kept in the page; every alert is counted
const PAGE_SIZE = 10;
const TIERS_REFRESH_MS = 1000;
const CONTACTS_REFRESH_MS = 2000;
const KPIS_REFRESH_MS = 10000; // KPIs move slowly: at most one reload per 10 s of events
const DAY_MS = 24 * 60 * 60 * 1000;
const KPI_GROUP_NAMES = { TIER: "Tier", SEGMENT: "Segment", LIST: "List" };
const OPERATIONS = [
  "DashboardHotLeads",
  "DashboardKpis",
  "DashboardTierChanges",
  "DashboardTierDistribution",
  "DashboardTopContacts",
];
const GRAPHQL_URL = new URL("../graphql", document.baseURI);
const LIVE_URL = new URL(GRAPHQL_URL);
LIVE_URL.protocol = GRAPHQL_URL.protocol === "https:" ? "wss:" : "ws:";
const STATUS_TEXT = {
  "signed-out": "No API key",
  idle: "Disconnected",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  "bad-key": "API key refused",
};
const REFUSED =
  "This API key was refused: it is unknown or has been revoked. Enter another key.";

const $ = (id) => document.getElementById(id);
const documents = {};
const state = {
  key: null,
  client: null,
  alertCount: 0,
  pendingAlerts: [],
  flushTimer: null,
  tiers: { order: [], rows: new Map(), counts: new Map(), averages: new Map(), loaded: false },
  scoreAbove: 0,
  pageArgs: { first: PAGE_SIZE },
  pageNumber: 1,
  kpisShown: null, // the "GROUP/days" selection the KPI rows on the page are for
};

class BadKey extends Error {}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// ---------------------------------------------------------------- GraphQL over HTTP

async function loadDocuments() {
  await Promise.all(
    OPERATIONS.filter((name) => !documents[name]).map(async (name) => {
      const response = await fetch(`operations/${name}.graphql`, { cache: "no-cache" });
      if (!response.ok) throw new Error(`could not load operations/${name}.graphql`);
      documents[name] = await response.text();
    }),
  );
}

async function graphql(operationName, variables = {}) {
  const response = await fetch(GRAPHQL_URL, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      authorization: `Bearer ${state.key}`,
    },
    body: JSON.stringify({ query: documents[operationName], variables, operationName }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`${operationName}: HTTP ${response.status}`);
  }
  const errors = body.errors || [];
  if (errors.some((e) => (e.extensions || {}).code === "UNAUTHENTICATED")) throw new BadKey();
  if (errors.length) throw new Error(`${operationName}: ${errors[0].message}`);
  return body.data;
}

// Runs `task` at most once per `ms`, and once more if asked again while it ran: right
// after it when asked with `now` (e.g. the user changed a filter), else `ms` later.
function throttled(task, ms) {
  let timer = null;
  let running = false;
  let again = null; // null, "later" or "now"
  const run = async () => {
    timer = null;
    if (running) {
      again = again || "later";
      return;
    }
    running = true;
    try {
      await task();
    } catch (error) {
      report(error);
    } finally {
      running = false;
      if (again) {
        const now = again === "now";
        again = null;
        schedule(now);
      }
    }
  };
  const schedule = (now = false) => {
    if (now && running) {
      again = "now";
    } else if (now) {
      clearTimeout(timer);
      timer = null;
      run();
    } else if (timer === null) {
      timer = setTimeout(run, ms);
    }
  };
  return schedule;
}

function report(error) {
  if (error instanceof BadKey) {
    badKey();
    return;
  }
  const problem = $("problem");
  problem.textContent = `Something went wrong: ${error.message}`;
  problem.hidden = false;
}

function clearProblem() {
  $("problem").hidden = true;
}

// ---------------------------------------------------------------- hot-lead feed

function onHotLead(event) {
  state.alertCount += 1;
  state.pendingAlerts.push(event);
  if (state.pendingAlerts.length > MAX_ALERTS) state.pendingAlerts.shift();
  if (state.flushTimer === null) state.flushTimer = setTimeout(flushAlerts, 50);
  refreshContacts();
  refreshKpis();
}

function alertItem(event) {
  const contact = event.contact || {};
  const item = element("li", "alert");
  item.dataset.cursor = event.cursor;
  item.dataset.contactId = event.contactId;
  item.dataset.email = contact.email || "";
  const facts = element("div", "facts");
  const top = event.tier && event.tier === state.tiers.order[0] ? "badge top" : "badge";
  facts.append(element("span", "score", event.score), element("span", top, event.tier ?? "no tier"));
  const who = contact.fullName || contact.email || `Contact ${event.contactId}`;
  const email = contact.email === who ? null : contact.email;
  const where = [email, contact.company && contact.company.name].filter(Boolean);
  const time = element("time", null, new Date(event.at).toLocaleTimeString());
  time.dateTime = event.at;
  item.append(
    element("div", "who", who),
    facts,
    element("div", "email", where.join(" · ")),
    time,
    element("div", "why", event.reason),
  );
  return item;
}

function flushAlerts() {
  state.flushTimer = null;
  const list = $("alerts");
  const batch = document.createDocumentFragment();
  for (const event of state.pendingAlerts) batch.prepend(alertItem(event));
  state.pendingAlerts = [];
  list.prepend(batch);
  while (list.childElementCount > MAX_ALERTS) list.lastElementChild.remove();
  $("alert-count").textContent = state.alertCount.toLocaleString();
  $("alert-noun").textContent = state.alertCount === 1 ? "alert" : "alerts";
  $("alert-cap").textContent = MAX_ALERTS;
  $("alert-capped").hidden = state.alertCount <= MAX_ALERTS;
  $("alerts-empty").hidden = state.alertCount > 0;
}

// ---------------------------------------------------------------- tier chart

function tierRow(name, rank) {
  const row = element("div", "tier-row");
  row.dataset.tier = name ?? "";
  row.dataset.rank = rank;
  const track = element("div", "track");
  track.append(element("div", "bar"));
  row.append(element("span", "name", name ?? "No tier"), track, element("span", "count", 0));
  row.append(element("span", "avg"));
  return row;
}

function renderTiers() {
  const tiers = state.tiers;
  const chart = $("tier-chart");
  const names = [...tiers.order];
  if ((tiers.counts.get(null) || 0) > 0) names.push(null);
  const wanted = new Set(names);
  for (const [name, row] of tiers.rows) {
    if (!wanted.has(name)) {
      row.remove();
      tiers.rows.delete(name);
    }
  }
  const max = Math.max(1, ...names.map((n) => tiers.counts.get(n) || 0));
  const total = names.reduce((sum, n) => sum + (tiers.counts.get(n) || 0), 0);
  names.forEach((name, index) => {
    const rank =
      name === null ? "none" : index === 0 ? "top" : index === tiers.order.length - 1 ? "bottom" : "middle";
    let row = tiers.rows.get(name);
    if (!row) {
      row = tierRow(name, rank);
      tiers.rows.set(name, row);
    }
    row.dataset.rank = rank;
    if (chart.children[index] !== row) chart.insertBefore(row, chart.children[index] || null);
    const count = tiers.counts.get(name) || 0;
    row.dataset.count = count;
    const bar = row.querySelector(".bar");
    bar.style.width = `${(100 * count) / max}%`;
    bar.style.minWidth = count > 0 ? "4px" : "0";
    row.querySelector(".count").textContent = count.toLocaleString();
    const share = total ? `${((100 * count) / total).toFixed(1)} % of contacts` : "";
    const average = tiers.averages.get(name);
    row.querySelector(".avg").textContent =
      average === undefined || count === 0 ? share : `${share} · average score ${Math.round(average)}`;
  });
  $("tier-total").textContent = total.toLocaleString();
}

async function loadTiers() {
  const data = await graphql("DashboardTierDistribution");
  const bands = (data.tierPolicy ? data.tierPolicy.tiers : []).slice();
  bands.sort((a, b) => b.minIndex - a.minIndex); // top tier first
  const counts = new Map();
  const averages = new Map();
  for (const cluster of data.clusters) {
    const name = cluster.values[0] ?? null;
    counts.set(name, cluster.count);
    averages.set(name, cluster.averageScore);
  }
  const order = bands.map((band) => band.name);
  for (const name of counts.keys()) if (name !== null && !order.includes(name)) order.push(name);
  Object.assign(state.tiers, { order, counts, averages, loaded: true });
  renderTiers();
  clearProblem();
}

function onTierChange(event) {
  const tiers = state.tiers;
  if (tiers.loaded) {
    // Move the contact between the bars at once; the reload that follows keeps them exact.
    const from = event.fromTier ?? null;
    const to = event.toTier ?? null;
    if (event.fromTier !== undefined && (tiers.counts.get(from) || 0) > 0) {
      tiers.counts.set(from, tiers.counts.get(from) - 1);
    }
    tiers.counts.set(to, (tiers.counts.get(to) || 0) + 1);
    renderTiers();
  }
  const contact = event.contact || {};
  const who = contact.fullName || contact.email || `Contact ${event.contactId}`;
  $("tier-move").textContent = `Latest move: ${who}, ${event.fromTier ?? "new"} → ${event.toTier ?? "no tier"}`;
  refreshTiers();
  refreshContacts();
  refreshKpis();
}

// ---------------------------------------------------------------- top contacts

async function loadContacts() {
  const variables = { scoreAbove: state.scoreAbove, ...state.pageArgs };
  const data = await graphql("DashboardTopContacts", variables);
  const connection = data.contacts;
  const body = $("contacts-body");
  const rows = connection.edges.map(({ node }) => {
    const row = element("tr");
    row.dataset.contactId = node.id;
    const who = element("td");
    const name = node.fullName || node.email;
    who.append(element("span", null, name));
    if (name !== node.email) who.append(element("span", "sub", node.email));
    const status = element("td");
    if (node.leadStatus) status.append(element("span", `badge ${node.leadStatus}`, node.leadStatus));
    row.append(
      who,
      element("td", null, node.company ? node.company.name : "—"),
      element("td", "num score", node.score),
      element("td", "tier", node.tier ?? "—"),
      status,
    );
    return row;
  });
  body.replaceChildren(...rows);
  $("contacts-empty").hidden = rows.length > 0;
  const backward = "last" in state.pageArgs;
  const info = connection.pageInfo;
  $("prev-page").disabled = state.pageNumber <= 1;
  $("next-page").disabled = !(backward || info.hasNextPage);
  $("prev-page").dataset.cursor = info.startCursor || "";
  $("next-page").dataset.cursor = info.endCursor || "";
  const total = connection.totalCount;
  $("page-info").textContent = `Page ${state.pageNumber} · ${total.toLocaleString()} contact${total === 1 ? "" : "s"}`;
  clearProblem();
}

// ---------------------------------------------------------------- KPIs

// The selectors' choice, e.g. "TIER/30": what the rows on the page must be for.
function kpiSelection() {
  return `${$("kpi-group").value}/${$("kpi-window").value}`;
}

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${(100 * rate).toFixed(1)} %`;
}

// Tiers in the chart's order (top tier first), then contacts without one; the server's
// order (by key, or lists by id) otherwise.
function kpiOrder(rows, groupBy) {
  if (groupBy !== "TIER") return rows;
  const order = state.tiers.order;
  const rank = (row) => {
    if (row.key === null) return order.length + 1;
    const index = order.indexOf(row.key);
    return index === -1 ? order.length : index;
  };
  const ranked = rows.map((row, index) => ({ row, index }));
  ranked.sort((a, b) => rank(a.row) - rank(b.row) || a.index - b.index);
  return ranked.map(({ row }) => row);
}

function kpiRow(kpi, groupBy) {
  const row = element("tr");
  row.dataset.key = kpi.key ?? "";
  const label = kpi.name ?? kpi.key;
  const group = element("td", label === null ? "group none" : "group", label ?? "—");
  if (label === null) group.title = `Contacts without a ${groupBy.toLowerCase()}`;
  const average = kpi.averageScore === null ? "—" : kpi.averageScore.toFixed(1);
  row.append(
    group,
    element("td", "num contacts", kpi.contacts.toLocaleString()),
    element("td", "num average", average),
    element("td", "num conversion", percent(kpi.conversionRate)),
    element("td", "num opens", percent(kpi.emailOpenRate)),
    element("td", "num transitions", kpi.tierTransitions.toLocaleString()),
  );
  return row;
}

function showKpis(groupBy, rows) {
  $("kpi-group-head").textContent = KPI_GROUP_NAMES[groupBy] || groupBy;
  $("kpi-body").replaceChildren(...rows);
}

function showKpiError(message) {
  $("kpi-error").textContent = message;
  $("kpi-error").hidden = !message;
}

async function loadKpis() {
  const selection = kpiSelection();
  const groupBy = $("kpi-group").value;
  const days = Number($("kpi-window").value);
  const table = $("kpi-table");
  if (state.kpisShown !== selection) table.setAttribute("aria-busy", "true");
  const to = new Date();
  const from = new Date(to.getTime() - days * DAY_MS);
  const variables = { groupBy, from: from.toISOString(), to: to.toISOString() };
  let data;
  try {
    data = await graphql("DashboardKpis", variables);
  } catch (error) {
    if (error instanceof BadKey) throw error;
    if (kpiSelection() !== selection) return; // changed meanwhile: a reload follows
    if (state.kpisShown !== selection) {
      // Never leave another selection's rows under these selectors.
      state.kpisShown = null;
      showKpis(groupBy, []);
      $("kpi-empty").hidden = true;
      $("kpi-range").textContent = "";
    }
    table.removeAttribute("aria-busy");
    showKpiError(`Could not load the KPIs: ${error.message}`);
    return;
  }
  if (kpiSelection() !== selection) return; // changed meanwhile: a reload follows
  const rows = kpiOrder(data.kpis || [], groupBy).map((kpi) => kpiRow(kpi, groupBy));
  showKpis(groupBy, rows);
  $("kpi-empty").textContent = groupBy === "LIST" ? "No lists yet." : "No contacts yet.";
  $("kpi-empty").hidden = rows.length > 0;
  const day = { day: "numeric", month: "short" };
  $("kpi-range").textContent =
    `${from.toLocaleDateString(undefined, day)} – ${to.toLocaleDateString(undefined, day)}` +
    ` · updated ${to.toLocaleTimeString()}`;
  state.kpisShown = selection;
  table.dataset.to = variables.to; // the end of the window shown (tests wait for it)
  table.removeAttribute("aria-busy");
  showKpiError("");
}

const refreshTiers = throttled(loadTiers, TIERS_REFRESH_MS);
const refreshContacts = throttled(loadContacts, CONTACTS_REFRESH_MS);
const refreshKpis = throttled(loadKpis, KPIS_REFRESH_MS);

function turnPage(forward) {
  const button = $(forward ? "next-page" : "prev-page");
  const cursor = button.dataset.cursor;
  if (!cursor) return;
  state.pageArgs = forward ? { first: PAGE_SIZE, after: cursor } : { last: PAGE_SIZE, before: cursor };
  state.pageNumber += forward ? 1 : -1;
  if (state.pageNumber <= 1) state.pageArgs = { first: PAGE_SIZE };
  refreshContacts(true);
}

// ---------------------------------------------------------------- connection and key

function setStatus(status) {
  $("status").dataset.state = status;
  $("status-text").textContent = STATUS_TEXT[status] || status;
}

function resetBoard() {
  state.alertCount = 0;
  state.pendingAlerts = [];
  $("alerts").replaceChildren();
  $("alert-count").textContent = "0";
  $("alert-capped").hidden = true;
  $("alerts-empty").hidden = false;
  state.tiers.loaded = false;
  state.tiers.counts = new Map();
  $("tier-move").textContent = "";
  state.kpisShown = null;
  $("kpi-body").replaceChildren();
  $("kpi-empty").hidden = true;
  $("kpi-range").textContent = "";
  showKpiError("");
}

function showKeyPanel(message) {
  $("board").hidden = true;
  $("change-key").hidden = true;
  $("key-panel").hidden = false;
  $("key-error").textContent = message || "";
  $("key-error").hidden = !message;
  $("key-input").value = "";
  $("key-input").focus();
}

function badKey() {
  if (state.client) state.client.stop();
  state.client = null;
  localStorage.removeItem(KEY_STORAGE);
  clearProblem();
  setStatus("bad-key");
  showKeyPanel(REFUSED);
}

async function connect(key) {
  if (state.client) state.client.stop();
  state.key = key;
  resetBoard();
  $("key-panel").hidden = true;
  $("board").hidden = false;
  $("change-key").hidden = false;
  setStatus("connecting");
  try {
    await loadDocuments();
  } catch (error) {
    report(error);
    return;
  }
  const client = new LiveClient({
    url: LIVE_URL.href,
    key,
    onState: setStatus,
    onBadKey: badKey,
    // Subscriptions first, then the views: nothing can fall between the two.
    onLive: () => {
      refreshTiers(true);
      refreshContacts(true);
      refreshKpis(true);
    },
  });
  client.subscribe({
    name: "DashboardHotLeads",
    query: documents.DashboardHotLeads,
    field: "hotLeads",
    onEvent: onHotLead,
    onError: report,
  });
  client.subscribe({
    name: "DashboardTierChanges",
    query: documents.DashboardTierChanges,
    field: "tierChanged",
    onEvent: onTierChange,
    onReset: () => {
      refreshTiers(true);
      refreshKpis();
    },
    onError: report,
  });
  state.client = client;
  client.start();
}

function init() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    localStorage.setItem(KEY_STORAGE, key);
    connect(key);
  });
  $("change-key").addEventListener("click", () => {
    if (state.client) state.client.stop();
    state.client = null;
    setStatus("signed-out");
    showKeyPanel();
  });
  $("contacts-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $("score-above").value.trim();
    const value = Math.trunc(Number(raw));
    state.scoreAbove = raw === "" || !Number.isFinite(value) ? null : value;
    state.pageArgs = { first: PAGE_SIZE };
    state.pageNumber = 1;
    refreshContacts(true);
  });
  $("kpi-filter").addEventListener("submit", (event) => event.preventDefault());
  $("kpi-filter").addEventListener("change", () => refreshKpis(true));
  $("next-page").addEventListener("click", () => turnPage(true));
  $("prev-page").addEventListener("click", () => turnPage(false));
  window.addEventListener("online", () => state.client && state.client.retryNow());
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) {
    connect(key);
  } else {
    setStatus("signed-out");
    showKeyPanel();
  }
}

init();
