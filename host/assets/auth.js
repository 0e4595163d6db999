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
