// Requests to the server's JSON API, as one well-behaved client: the token as every
// fetch carries it, at most MAX_IN_FLIGHT GETs at once from this page (the server
// answers only a few history queries at a time and turns the rest away with 503), and
// a 503 retried after the second it asks for. An admin's changes (`sendJson`) go out
// at once and are never retried: a silence must not be made twice.

import { authHeaders } from "./auth.js";

/** Requests this page has in flight at most; the server answers 4 at once for everyone. */
const MAX_IN_FLIGHT = 2;
/** A 503 is retried this often, a second apart, before it counts as a failure. */
const RETRIES = 3;
const RETRY_MS = 1000;

let inFlight = 0;
const waiting = [];

/** A failed request: `status` is the HTTP status (0 when the server was unreachable). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** `path?params` (an array value repeats its key; null and undefined are left out). */
export function apiUrl(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, String(v));
  }
  return `${path}?${query}`;
}

async function slot() {
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight += 1;
    return;
  }
  await new Promise((resolve) => waiting.push(resolve));
}

function release() {
  const next = waiting.shift();
  if (next) next();
  else inFlight -= 1;
}

async function once(url) {
  await slot();
  try {
    const response = await fetch(url, { headers: authHeaders({ accept: "application/json" }) });
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: the status says what went wrong.
    }
    return { status: response.status, ok: response.ok, body };
  } catch (error) {
    return { status: 0, ok: false, body: { error: String(error.message ?? error) } };
  } finally {
    release();
  }
}

/** The JSON body of `GET url`; throws an ApiError naming the path, status and the server's `error`. */
export async function getJson(url) {
  for (let attempt = 0; ; attempt += 1) {
    const { status, ok, body } = await once(url);
    if (ok) return body;
    if (status !== 503 || attempt >= RETRIES) {
      const error = body?.error ? `: ${body.error}` : "";
      throw new ApiError(status, `${url.split("?")[0]} HTTP ${status}${error}`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * The JSON body of `method url` with `body` as JSON (none when undefined); throws an
 * ApiError naming the path, status and the server's `error`, as getJson does.
 */
export async function sendJson(method, url, body) {
  const init = { method, headers: authHeaders({ accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, `${method} ${url} failed: ${error.message ?? error}`);
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // Not JSON: the status says what went wrong.
  }
  if (response.ok) return answer;
  const reason = answer?.error ? `: ${answer.error}` : "";
  throw new ApiError(response.status, `${method} ${url} HTTP ${response.status}${reason}`);
}
