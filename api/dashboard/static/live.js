// A small client for the graphql-transport-ws protocol: one WebSocket, several
// subscriptions, each resumed from the last cursor it delivered when the socket comes back.
//
// States reported through onState: "connecting" (first attempt), "live" (connection_ack
// received), "reconnecting" (waiting to try again after a drop), "bad-key" (the server
// refused the key: close code 4403, or UNAUTHENTICATED on a subscription; nothing is retried).

const PROTOCOL = "graphql-transport-ws";
const BAD_KEY_CLOSE = 4403;
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000];
const PING_EVERY_MS = 10000;
const SILENCE_LIMIT_MS = 30000; // no message (not even a pong) for this long: the socket is dead
const ACK_LIMIT_MS = 10000;
const SEEN_LIMIT = 5000;

export class LiveClient {
  constructor({ url, key, onState = () => {}, onBadKey = () => {}, onLive = () => {} }) {
    this.url = url;
    this.key = key;
    this.onState = onState;
    this.onBadKey = onBadKey;
    this.onLive = onLive;
    this.subscriptions = [];
    this.state = "idle";
    this.socket = null;
    this.attempt = 0;
    this.nextId = 1;
    this.lastCursor = null; // the newest cursor received on any subscription
    this.everConnected = false;
    this.timers = new Set();
    this.stopped = false;
  }

  // `field` is the root field of the subscription; `onReset` is called when the cursor had
  // to be dropped (expired): the view must be reloaded with queries.
  subscribe({ name, query, field, onEvent, onReset = () => {}, onError = () => {} }) {
    const sub = { name, query, field, onEvent, onReset, onError, cursor: null, id: null };
    sub.seen = new Set();
    this.subscriptions.push(sub);
    if (this.state === "live") this.#start(sub);
    return sub;
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    this.#clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "bye");
    this.#setState("idle");
  }

  // Try at once (e.g. when the browser says it is back online).
  retryNow() {
    if (!this.stopped && !this.socket && ["connecting", "reconnecting"].includes(this.state)) {
      this.#clearTimers();
      this.#connect();
    }
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  #later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  #clearTimers() {
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers.clear();
  }

  #connect() {
    if (this.stopped) return;
    this.#setState(this.everConnected ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url, PROTOCOL);
    } catch (error) {
      this.#retry();
      return;
    }
    this.socket = socket;
    let lastHeard = Date.now();
    let acked = false;
    socket.onopen = () => {
      this.#send({ type: "connection_init", payload: { authorization: `Bearer ${this.key}` } });
      this.#later(ACK_LIMIT_MS, () => {
        if (!acked && this.socket === socket) socket.close(4000, "no connection_ack");
      });
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      lastHeard = Date.now();
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "connection_ack") {
        acked = true;
        // The server's newest cursor at connect time: subscriptions that have delivered
        // nothing yet start from it, so nothing written after this moment can be missed.
        const head = data.payload && data.payload.cursor;
        if (this.lastCursor == null && head != null) this.lastCursor = head;
        this.#onAck(socket, () => lastHeard);
      } else if (data.type === "ping") {
        this.#send({ type: "pong" });
      } else {
        this.#onOperationMessage(data);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.#clearTimers();
      for (const sub of this.subscriptions) sub.id = null;
      if (event.code === BAD_KEY_CLOSE) {
        this.#badKey();
      } else {
        this.#retry();
      }
    };
  }

  #onAck(socket, lastHeard) {
    this.attempt = 0;
    this.everConnected = true;
    this.#setState("live");
    const keepAlive = setInterval(() => {
      if (this.socket !== socket) return;
      if (Date.now() - lastHeard() > SILENCE_LIMIT_MS) {
        socket.close(4000, "silent connection");
        return;
      }
      this.#send({ type: "ping" });
    }, PING_EVERY_MS);
    this.timers.add(keepAlive);
    for (const sub of this.subscriptions) this.#start(sub);
    this.onLive();
  }

  #retry() {
    if (this.stopped || this.state === "bad-key") return;
    const base = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.#setState(this.everConnected ? "reconnecting" : "connecting");
    this.#later(base + Math.floor(Math.random() * base * 0.2), () => this.#connect());
  }

  #badKey() {
    this.stopped = true;
    this.#clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "bad key");
    this.#setState("bad-key");
    this.onBadKey();
  }

  #send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  // Subscribes with the cursor this subscription last delivered; one that has delivered
  // nothing yet resumes, after a drop, from the newest cursor any subscription delivered
  // (cursors are positions in one log shared by every subscription).
  #start(sub, after = sub.cursor ?? this.lastCursor) {
    sub.id = `${sub.name}-${this.nextId++}`;
    this.#send({
      id: sub.id,
      type: "subscribe",
      payload: { query: sub.query, operationName: sub.name, variables: { after } },
    });
  }

  #onOperationMessage(data) {
    const sub = this.subscriptions.find((s) => s.id !== null && s.id === data.id);
    if (!sub) return; // an operation replaced since (its late messages are ignored)
    if (data.type === "next") {
      const payload = data.payload || {};
      if (payload.errors && payload.errors.length) {
        this.#onSubscriptionError(sub, payload.errors[0]);
      } else if (payload.data && payload.data[sub.field]) {
        this.#deliver(sub, payload.data[sub.field]);
      }
    } else if (data.type === "error") {
      sub.id = null;
      const errors = Array.isArray(data.payload) ? data.payload : [data.payload];
      sub.onError(errors[0] || { message: "the subscription was refused" });
    } else if (data.type === "complete") {
      // The server ends a subscription only after an error (handled above) or when it is
      // shutting down: start it again from its cursor.
      sub.id = null;
      this.#later(1000, () => {
        if (this.state === "live" && sub.id === null) this.#start(sub);
      });
    }
  }

  #deliver(sub, event) {
    const cursor = event.cursor;
    if (cursor == null || sub.seen.has(cursor)) return; // shown once, even across replays
    sub.seen.add(cursor);
    if (sub.seen.size > SEEN_LIMIT) sub.seen.delete(sub.seen.values().next().value);
    sub.cursor = cursor;
    this.lastCursor = cursor;
    sub.onEvent(event);
  }

  #onSubscriptionError(sub, error) {
    const extensions = error.extensions || {};
    const code = extensions.code;
    sub.id = null;
    if (code === "UNAUTHENTICATED") {
      this.#badKey();
      return;
    }
    if (code === "SLOW_CONSUMER" && extensions.resumeAfter) {
      sub.cursor = extensions.resumeAfter;
      this.#start(sub);
      return;
    }
    if (code === "CURSOR_EXPIRED" || (code === "BAD_USER_INPUT" && extensions.field === "after")) {
      // What happened since cannot be replayed: reload the view, then follow from now on.
      sub.cursor = null;
      this.#start(sub, null);
      sub.onReset();
      return;
    }
    sub.onError(error);
    this.#later(2000, () => {
      if (this.state === "live" && sub.id === null) this.#start(sub);
    });
  }
}
