// Access tokens, for a server that asks viewers for one ([access] viewer_token_*).
//
// A browser cannot set headers on a WebSocket, so the token travels as a subprotocol
// entry, `bearer.<base64url>`, offered beside the real one, `monitoring.v1` (the
// server answers with that one, never the token). `fetch` calls send it as an
// `Authorization: Bearer` header. It is kept in sessionStorage only: gone with the
// tab, never in a URL, a cookie or localStorage.

const KEY = "monitoring.token";
const SUBPROTOCOL = "monitoring.v1";

function stored() {
  try {
    return sessionStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

function store(token) {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: the token lasts as long as the page.
  }
  memory = token;
}

let memory = stored();

function base64url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The subprotocols to offer: none without a token. */
export function protocols() {
  return memory ? [SUBPROTOCOL, `bearer.${base64url(memory)}`] : [];
}

/** `headers` plus the token's `Authorization`, when there is one. */
export function authHeaders(headers = {}) {
  return memory ? { ...headers, authorization: `Bearer ${memory}` } : headers;
}

/** Whether the server refuses this page for want of the right token (HTTP 401). */
export async function refusedForToken() {
  try {
    const response = await fetch("/api/current", { headers: authHeaders({ accept: "application/json" }) });
    return response.status === 401;
  } catch {
    return false;
  }
}

/** Shows the token form; resolves once the user has entered a token. */
export function askForToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const note = document.getElementById("token-note");
  note.textContent = memory ? "That token was refused; enter the right one." : "";
  store("");
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      input.value = "";
      store(token);
      form.hidden = true;
      form.onsubmit = null;
      resolve();
    };
  });
}

/**
 * Whether this page's token is the admin's. The server has no "who am I" route, so
 * the page asks a control route something that changes nothing: to expire a silence
 * id no silence can have (ids are hex digits). Only the admin gets past the role check,
 * to "no silence has the id" (404) or a refused id (400); anyone else gets 401 or 403,
 * and a server without silences says "no such route" (404 too, but no admin's).
 * Resolves to `{ admin, status }`.
 */
export async function probeAdmin() {
  try {
    const response = await fetch("/api/silences/not-a-silence", {
      method: "DELETE",
      headers: authHeaders({ accept: "application/json" }),
    });
    let reason = "";
    try {
      reason = String((await response.json())?.error ?? "");
    } catch {
      // Not JSON: the status alone decides.
    }
    const pastRoleCheck = response.status === 404 || response.status === 400;
    return { admin: pastRoleCheck && !reason.startsWith("no such route"), status: response.status };
  } catch {
    return { admin: false, status: 0 };
  }
}

/**
 * Shows the token form for the admin's token, on a page that is already viewing. An
 * entered token is tried at once (probeAdmin): one the server refuses is dropped,
 * the token in use kept and the form asks again, so a mistyped admin token never
 * leaves the page's polls presenting a wrong one (the server backs an address off
 * after a few). An empty submit cancels. Resolves to whether the session is now the
 * admin's.
 */
export function askForAdminToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const note = document.getElementById("token-note");
  const label = form.querySelector("label");
  const before = label.textContent;
  label.textContent = "The admin token (to acknowledge and silence alerts; empty to cancel):";
  note.textContent = "";
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    const finish = (admin) => {
      label.textContent = before;
      note.textContent = "";
      form.hidden = true;
      form.onsubmit = null;
      resolve(admin);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      input.value = "";
      if (!token) {
        finish(false);
        return;
      }
      const previous = memory;
      memory = token;
      const { admin } = await probeAdmin();
      if (!admin) {
        memory = previous;
        note.textContent = "That is not the admin token; enter it again, or nothing to cancel.";
        return;
      }
      store(token);
      finish(true);
    };
  });
}
