// The Agent API (agent_console/README.md): JSON over fetch, the session cookie sent by
// the browser, the CSRF token on every request that changes something.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

const BASE = "/api/v1/agent";

export class Api {
  /** onUnauthorized(): the session is gone (401) — the console goes back to the login form. */
  constructor(onUnauthorized) {
    this.onUnauthorized = onUnauthorized;
    this.csrf = null;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      if (this.csrf) headers["X-CSRF-Token"] = this.csrf;
      if (body !== undefined) headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "network", "The gateway cannot be reached. Check the connection and try again.");
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data && data.error, data && data.message);
      // Logging in with a wrong password is a 401 too, but not a lost session.
      if (response.status === 401 && path !== "/login") this.onUnauthorized(error);
      throw error;
    }
    return data;
  }

  remember(session) {
    this.csrf = session.csrf_token;
    return session;
  }

  async me() {
    return this.remember(await this.request("GET", "/me"));
  }

  async login(email, password) {
    return this.remember(await this.request("POST", "/login", { email, password }));
  }

  async logout() {
    try {
      await this.request("POST", "/logout");
    } finally {
      this.csrf = null;
    }
  }

  queues() {
    return this.request("GET", "/queues");
  }

  agents() {
    return this.request("GET", "/agents");
  }

  presence(status) {
    return this.request("PUT", "/presence", { status });
  }

  conversation(id) {
    return this.request("GET", `/conversations/${encodeURIComponent(id)}`);
  }

  claim(id) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/claim`, {});
  }

  reply(id, text) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/messages`, { text });
  }

  note(id, text) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/notes`, { text });
  }

  /** target: {team} or {agent: email} */
  transfer(id, target) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/transfer`, target);
  }

  resolve(id) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/resolve`, {});
  }

  canned(locale, q) {
    const query = new URLSearchParams({ locale: locale || "", q: q || "" });
    return this.request("GET", `/canned?${query}`);
  }

  /** Supervisors only: {rules: [{rule, target, shown, accepted, declined, converted, conversion_rate}]} */
  proactive() {
    return this.request("GET", "/proactive");
  }

  suggestion(id) {
    return this.request("GET", `/conversations/${encodeURIComponent(id)}/suggestion`);
  }

  // ------------------------------------------------------------------ supervisors only (403 otherwise)

  /** A report (volume, speed, bot, …) for {from, to, channel?, team?, agent?, business_hours?}. */
  report(name, params) {
    return this.request("GET", `/reports/${encodeURIComponent(name)}?${new URLSearchParams(params || {})}`);
  }

  /** Every conversation, newest activity first: {conversations: [summary], next: cursor|null}. */
  conversations(params) {
    return this.request("GET", `/conversations?${new URLSearchParams(params || {})}`);
  }

  /** Waiting per team and the agents' presence and load, right now. */
  overview() {
    return this.request("GET", "/overview");
  }

  /** Open shopper requests (returns, cancellations, …) per team: {requests: [request]}. */
  requests(params) {
    return this.request("GET", `/requests?${new URLSearchParams(params || {})}`);
  }

  /** A queued or assigned conversation back to the bot. */
  handback(id) {
    return this.request("POST", `/conversations/${encodeURIComponent(id)}/handback`, {});
  }
}
