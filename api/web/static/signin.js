// Sign in: sign the server's one-time challenge with the key file's key.
// The bytes are defined by the server (ledger/sessions.py sign_in_input);
// before signing, this script checks they are sign-in bytes for this page's
// origin and this challenge, so the page can never be made to sign anything
// else, such as a statement ("pmm-statement/v1\n...").
import { SIGN_IN_CONTEXT, fromBase64, postJson, readKeyFile, show, sign } from "./pmmkey.js";

function checkMessage(bytes, found) {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  const expected = `${SIGN_IN_CONTEXT}${found.origin}\n${window.location.origin}\n${found.challenge}`;
  if (text !== expected) {
    throw new Error("the server asked to sign something other than a sign-in: refused");
  }
}

async function signIn(event) {
  event.preventDefault();
  show("problem", "");
  show("status", "Signing in…");
  const button = document.getElementById("sign-in-button");
  button.disabled = true;
  try {
    const file = document.getElementById("key-file").files[0];
    const key = await readKeyFile(file);
    const found = await postJson("/auth/challenge", {});
    const message = fromBase64(found.message);
    checkMessage(message, found);
    const signature = await sign(key.key, message);
    const session = await postJson("/auth/session", {
      principal: key.principal,
      key_id: key.keyId,
      challenge: found.challenge,
      signature,
    });
    show("status", `Signed in as ${session.principal} (${session.role}).`);
    window.location.assign("/ui/");
  } catch (error) {
    show("status", "");
    show("problem", `Sign-in refused: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

document.getElementById("sign-in").addEventListener("submit", signIn);
