// What the signing pages share: read a PMM key file in the browser, import it
// with WebCrypto, sign bytes, and talk JSON to the server (docs/http.md,
// "Signing in from a browser"). The key file is read with FileReader and never
// sent anywhere; the CryptoKey is not extractable and lives only as long as
// the page's one sign-in or statement.

export const SIGN_IN_CONTEXT = "pmm-sign-in/v1\n";
export const STATEMENT_CONTEXT = "pmm-statement/v1\n";

export function toBase64(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

export function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function base64url(text) {
  return text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function readText(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error(`could not read ${file.name}`));
    reader.readAsText(file);
  });
}

// A key file as `pmm keygen` writes it (ledger/keys.py): JSON with format
// "pmm-key/v1", principal, key_id, and base64 of the raw 32-byte Ed25519 seed
// and public key. WebCrypto imports a private key as JWK (RFC 8037 OKP).
export async function readKeyFile(file) {
  if (!file) throw new Error("pick your key file first");
  let data;
  try {
    data = JSON.parse(await readText(file));
  } catch {
    throw new Error(`${file.name} is not JSON: pick the key file pmm keygen wrote`);
  }
  if (data === null || data.format !== "pmm-key/v1") {
    throw new Error(`${file.name} is not a pmm-key/v1 key file`);
  }
  for (const name of ["principal", "key_id", "private_key", "public_key"]) {
    if (typeof data[name] !== "string") throw new Error(`the key file has no ${name}`);
  }
  const jwk = {
    kty: "OKP",
    crv: "Ed25519",
    d: base64url(data.private_key),
    x: base64url(data.public_key),
  };
  let key;
  try {
    key = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
  } catch (error) {
    throw new Error(`the browser refused the key: ${error.message || error}`);
  }
  return { principal: data.principal, keyId: data.key_id, key };
}

export async function sign(key, bytes) {
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, bytes);
  return toBase64(new Uint8Array(signature));
}

// POST JSON; resolve to the answer, or throw the problem's own message.
export async function postJson(url, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!answer.ok) {
    const detail = data && data.detail ? data.detail : text || answer.statusText;
    throw new Error(`${answer.status}: ${detail}`);
  }
  return data;
}

export function show(id, text) {
  const element = document.getElementById(id);
  element.textContent = text;
  element.hidden = !text;
}
