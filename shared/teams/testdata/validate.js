// validate.js: checks Teams webhook messages with the official Adaptive
// Cards library (adaptivecards@3.0.6), the way the Go test in
// validate_node_test.go runs it:
//
//   NODE_PATH=<dir>/node_modules node validate.js <dir with *.json envelopes>
//
// For each file it prints one JSON line {"file": ..., "problems": [...]}
// and exits 1 if any file has a problem (2 on a usage error). A problem is:
//   - an envelope that is not the Workflows webhook shape or is over 28 KB;
//   - a card that is not version 1.5 with $schema, fallbackText and
//     msteams.width "Full";
//   - any parse or validation event of the library (unknown element or
//     action types, invalid property values, missing required properties);
//   - a property the library drops or changes on a round trip through
//     parse and toJSON (an unknown or misspelt property, a non-canonical
//     value), which the library otherwise ignores silently;
//   - an action other than Action.OpenUrl (the only one that works on a
//     card posted without a bot), or a link that is not https (http only
//     on a loopback host).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
// Not require("adaptivecards"): the package's main (lib/) is ESM with
// extension-less imports and fails under plain node; the UMD bundle works.
const AC = require("adaptivecards/dist/adaptivecards.js");

const MAX_BYTES = 28000;
const SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";
const CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
// Root properties Teams reads that the library does not model.
const ROOT_EXTRAS = new Set(["msteams"]);

function libraryEvents(json) {
  const card = new AC.AdaptiveCard();
  const ctx = new AC.SerializationContext(AC.Versions.v1_5);
  const out = [];
  try {
    card.parse(json, ctx);
  } catch (e) {
    return { events: ["Parse/Exception: " + e.message], roundTrip: null };
  }
  const events = [];
  for (let i = 0; i < ctx.eventCount; i++) events.push(ctx.getEventAt(i));
  events.push(...card.validateProperties().validationEvents);
  for (const e of events) {
    out.push(`${AC.ValidationPhase[e.phase]}/${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  let roundTrip = null;
  try {
    roundTrip = card.toJSON(new AC.SerializationContext(AC.Versions.v1_5));
  } catch (e) {
    out.push("Serialize/Exception: " + e.message);
  }
  return { events: out, roundTrip };
}

// lostProperties lists every property of want that got is missing or has
// with another value.
function lostProperties(want, got, where, problems, isRoot) {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) {
      problems.push(`${where}: array changed on round trip (${want.length} items in, ${Array.isArray(got) ? got.length : "none"} out)`);
      return;
    }
    want.forEach((w, i) => lostProperties(w, got[i], `${where}[${i}]`, problems, false));
    return;
  }
  if (want !== null && typeof want === "object") {
    if (got === null || typeof got !== "object") {
      problems.push(`${where}: object dropped on round trip`);
      return;
    }
    for (const k of Object.keys(want)) {
      if (isRoot && ROOT_EXTRAS.has(k)) continue;
      if (!(k in got)) {
        problems.push(`${where}.${k}: unknown or invalid property (dropped by the library)`);
        continue;
      }
      lostProperties(want[k], got[k], `${where}.${k}`, problems, false);
    }
    return;
  }
  if (want !== got) {
    problems.push(`${where}: value ${JSON.stringify(want)} became ${JSON.stringify(got)} (not canonical or invalid)`);
  }
}

function okURL(u) {
  if (typeof u !== "string") return false;
  let p;
  try { p = new URL(u); } catch { return false; }
  if (p.username || p.password) return false;
  if (p.protocol === "https:") return true;
  return p.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(p.hostname);
}

// teamsRules walks the card for what the library does not check.
function teamsRules(node, where, problems) {
  if (Array.isArray(node)) {
    node.forEach((n, i) => teamsRules(n, `${where}[${i}]`, problems));
    return;
  }
  if (node === null || typeof node !== "object") return;
  if (typeof node.type === "string" && node.type.startsWith("Action.")) {
    if (node.type !== "Action.OpenUrl") {
      problems.push(`${where}: ${node.type} does not work on a card posted without a bot; only Action.OpenUrl does`);
    } else if (!okURL(node.url)) {
      problems.push(`${where}: link ${JSON.stringify(node.url)} is not https`);
    }
  }
  for (const [k, v] of Object.entries(node)) teamsRules(v, `${where}.${k}`, problems);
}

function checkCard(card, where, problems) {
  if (card === null || typeof card !== "object" || Array.isArray(card)) {
    problems.push(`${where}: card is not an object`);
    return;
  }
  if (card.type !== "AdaptiveCard") problems.push(`${where}.type: must be "AdaptiveCard"`);
  if (card.version !== "1.5") problems.push(`${where}.version: must be "1.5" (Teams renders up to 1.5), got ${JSON.stringify(card.version)}`);
  if (card.$schema !== SCHEMA) problems.push(`${where}.$schema: must be ${SCHEMA}`);
  if (typeof card.fallbackText !== "string" || card.fallbackText.trim() === "") problems.push(`${where}.fallbackText: missing`);
  if (!card.msteams || card.msteams.width !== "Full") problems.push(`${where}.msteams.width: must be "Full"`);
  const { events, roundTrip } = libraryEvents(card);
  for (const e of events) problems.push(`${where}: ${e}`);
  if (roundTrip) lostProperties(card, roundTrip, where, problems, true);
  teamsRules(card, where, problems);
}

function checkEnvelope(raw) {
  const problems = [];
  if (Buffer.byteLength(raw, "utf8") > MAX_BYTES) problems.push(`message is ${Buffer.byteLength(raw, "utf8")} bytes, over ${MAX_BYTES}`);
  let msg;
  try { msg = JSON.parse(raw); } catch (e) { return [`not JSON: ${e.message}`]; }
  if (msg === null || typeof msg !== "object") return ["message is not an object"];
  if (msg.type !== "message") problems.push(`type: must be "message"`);
  if (!Array.isArray(msg.attachments) || msg.attachments.length === 0) {
    problems.push("attachments: must be a non-empty array");
    return problems;
  }
  msg.attachments.forEach((a, i) => {
    const where = `attachments[${i}]`;
    if (!a || typeof a !== "object") { problems.push(`${where}: not an object`); return; }
    if (a.contentType !== CONTENT_TYPE) problems.push(`${where}.contentType: must be ${CONTENT_TYPE}`);
    if (a.contentUrl !== null) problems.push(`${where}.contentUrl: must be null`);
    checkCard(a.content, `${where}.content`, problems);
  });
  return problems;
}

function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node validate.js <dir with *.json>");
    process.exit(2);
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) {
    console.error(`no *.json files in ${dir}`);
    process.exit(2);
  }
  let failed = 0;
  for (const f of files) {
    const problems = checkEnvelope(fs.readFileSync(path.join(dir, f), "utf8"));
    if (problems.length > 0) failed++;
    process.stdout.write(JSON.stringify({ file: f, problems }) + "\n");
  }
  process.exit(failed > 0 ? 1 : 0);
}

main();
