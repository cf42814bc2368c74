// Sign a statement in the browser (api/web/act.py): build the body from the
// form, let the server wrap it into a statement and answer the exact bytes to
// sign, check those bytes say what the form says, sign, record, show the receipt.
import { STATEMENT_CONTEXT, fromBase64, postJson, readKeyFile, show, sign, toBase64 } from "./pmmkey.js";

const form = document.getElementById("act");
const field = (id) => document.getElementById(id).value.trim();

function integer(id) {
  const text = field(id);
  if (!/^[0-9]{1,16}$/.test(text)) throw new Error(`${id.replace("_", " ")} must be a whole number`);
  return Number(text);
}

function valueBody(type) {
  const body = {
    kpi: field("kpi"),
    reference_year: integer("reference_year"),
    status: field("status"),
    unit: field("unit"),
    disclosure: field("disclosure"),
    evidence: field("evidence") ? field("evidence").split(",").map((s) => s.trim()) : [],
  };
  const value = field("value");
  try {
    body.value = value ? JSON.parse(value) : null;
  } catch {
    throw new Error('the value must be a JSON object such as {"amount": "12"}');
  }
  if (field("comment")) body.comment = field("comment");
  if (type === "value.corrected") {
    body.supersedes = integer("supersedes");
    body.kind = field("kind");
    body.reason = field("reason");
  }
  return body;
}

// A red flag's handling goes to the ledger-wide integrity stream (docs/flags.md).
function flagBody() {
  const body = { flag: field("flag"), action: field("action"), reason: field("flag_reason") };
  if (field("member")) body.member = field("member");
  return body;
}

function streamOf(type) {
  if (type === "integrity.flag_handled") return "integrity";
  if (!field("member")) throw new Error("name the Member of the assessment");
  return `assessment/${field("member")}/${field("cycle")}`;
}

function formBody(type) {
  if (type === "integrity.flag_handled") return flagBody();
  if (type === "value.submitted" || type === "value.corrected") return valueBody(type);
  const body = { entry: integer("entry") };
  if (type === "value.queried") body.message = field("message");
  return body;
}

// Deep equality of JSON values, key order ignored (JCS sorts keys).
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
}

// The statement inside the signing input, refused unless it is what the form said.
function checkPrepared(bytes, intent) {
  const context = new TextEncoder().encode(STATEMENT_CONTEXT);
  if (!context.every((byte, i) => bytes[i] === byte)) {
    throw new Error("the server asked to sign something other than a statement: refused");
  }
  const statementBytes = bytes.slice(context.length);
  const parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(statementBytes));
  const wanted = {
    principal: form.dataset.principal,
    key_id: form.dataset.keyId,
    origin: form.dataset.origin,
    type: intent.type,
    stream: intent.stream,
  };
  for (const [name, value] of Object.entries(wanted)) {
    if (parsed[name] !== value) {
      throw new Error(`the prepared statement's ${name} is ${parsed[name]}, not ${value}: refused`);
    }
  }
  if (!same(parsed.body, intent.body)) {
    throw new Error("the prepared statement's body is not the form's: refused");
  }
  return statementBytes;
}

function showFor(type) {
  for (const set of form.querySelectorAll("fieldset[data-for]")) {
    set.hidden = !set.dataset.for.split(" ").includes(type);
  }
}

async function signAndRecord(event) {
  event.preventDefault();
  show("problem", "");
  document.getElementById("receipt").hidden = true;
  const button = document.getElementById("sign-button");
  button.disabled = true;
  try {
    const type = field("type");
    const intent = { type, stream: streamOf(type), body: formBody(type) };
    const key = await readKeyFile(document.getElementById("key-file").files[0]);
    if (key.principal !== form.dataset.principal) {
      throw new Error(`the key file is ${key.principal}'s; you are signed in as ${form.dataset.principal}`);
    }
    const csrf = form.dataset.csrf;
    const prepared = await postJson("/ui/act/prepare", intent, csrf);
    const bytes = fromBase64(prepared.signing_input);
    const statementBytes = checkPrepared(bytes, intent);
    document.getElementById("statement-bytes").textContent = new TextDecoder().decode(statementBytes);
    document.getElementById("prepared").hidden = false;
    const signature = await sign(key.key, bytes);
    const recorded = await postJson("/ui/act/submit", { statement: toBase64(statementBytes), signature }, csrf);
    document.getElementById("recorded").textContent =
      `${recorded.entry_type} recorded at log index ${recorded.log_index} ` +
      `(stream ${recorded.stream}, version ${recorded.stream_version}, tree size ${recorded.tree_size}).`;
    const link = document.getElementById("receipt-link");
    link.href = recorded.receipt_url;
    document.getElementById("receipt-text").textContent = recorded.receipt;
    document.getElementById("entry-bytes").textContent = recorded.entry;
    document.getElementById("receipt").hidden = false;
  } catch (error) {
    show("problem", `Refused: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

document.getElementById("type").addEventListener("change", (event) => showFor(event.target.value));
showFor(field("type"));
form.addEventListener("submit", signAndRecord);
