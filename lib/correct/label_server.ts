/**
 * A labelling page on localhost: a person looks at generator samples one by one and answers `normal`,
 * `artifact` or `skip` with a key press; every answer is saved to a label file (see `labels.ts`) at once.
 *
 * The page is one self-contained HTML document (no external assets) talking to a small JSON API:
 *
 * | request                        | answer                                                               |
 * | ------------------------------ | -------------------------------------------------------------------- |
 * | `GET /`                        | the page                                                             |
 * | `GET /api/state`               | {@link LabelState}                                                   |
 * | `GET /api/image/<seed>.png`    | the sample's PNG (404 for a seed not on the list)                    |
 * | `POST /api/label {seed,label}` | saves the answer, then the new {@link LabelState}                    |
 * | `POST /api/undo`               | removes the most recent answer of a listed seed, then the new state |
 *
 * Refused requests get status 400 (403, 404, 405, 413) and `{ "error": "<why>" }`. Other sites cannot label
 * for you or read your labels:
 *
 * - POST bodies must be sent as `application/json`, which a page of another site cannot do without the
 *   server's consent (CORS), and a request whose `Origin` is another site is refused (403);
 * - every request must name the server by a loopback name in `Host` (`localhost`, `127.0.0.1` or `[::1]`,
 *   or the `hostname` it listens on, with its port), else 403: a page of another site whose name was
 *   rebound to 127.0.0.1 (DNS rebinding) sends its own name there;
 * - POST bodies are at most {@link MAX_BODY_BYTES} (64 KiB) long, else 413.
 *
 * The whole label file is rewritten atomically before each POST is answered, so stopping the server at any
 * moment loses nothing. A restart with the same `out` resumes: its answers are loaded and those seeds are not
 * asked again. Rows of `out` for seeds not on the list are kept as they are; temporary files of `out` left by
 * a write that was killed midway (`.labels.csv.<id>.tmp`, see `lib/io/atomic.ts`) are removed at start once
 * they are a minute old.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { encodePng } from "../io/png.ts";
 * import { startLabelServer } from "./label_server.ts";
 * const grey = { data: new Uint8Array(8 * 8 * 3).fill(128), height: 8, width: 8, channels: 3 };
 * const server = await startLabelServer({
 *   seeds: [0, 1],
 *   render: () => encodePng(grey),
 *   out: join(await Deno.makeTempDir(), "labels.csv"),
 * });
 * assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/); // a person answers there; here fetch does
 * for (const seed of [0, 1]) {
 *   const body = JSON.stringify({ seed, label: "normal" });
 *   const headers = { "content-type": "application/json" };
 *   await (await fetch(`${server.url}api/label`, { method: "POST", headers, body })).json();
 * }
 * const labels = await server.done; // resolves once every seed is answered
 * assert.deepEqual(labels.get(1), { label: "normal", source: "manual" });
 * await server.close();
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import {
  countLabels,
  DEFAULT_SOURCE,
  isLabel,
  type Label,
  type LabelSet,
  readLabels,
  writeLabels,
} from "./labels.ts";

/** Options of {@link startLabelServer}. */
export interface LabelServerOptions {
  /** The seeds to ask about, in order; non-negative integers, each once. */
  seeds: readonly number[];
  /** PNG bytes of the sample of `seed`. Called one at a time, never concurrently. */
  render: (seed: number) => Promise<Uint8Array>;
  /** The label file: read when it exists (resume), rewritten after every answer. */
  out: string;
  /** TCP port; default 0, any free port. */
  port?: number;
  /** Interface to listen on; default `"127.0.0.1"` (this machine only). */
  hostname?: string;
  /** Called after every saved answer or undo, e.g. to print progress. */
  onChange?: (state: LabelState) => void;
}

/** What the page shows; the answer of `GET /api/state` and of every POST. */
export interface LabelState {
  /** How many seeds are on the list. */
  total: number;
  /** Answers so far among the listed seeds, by label. */
  counts: Record<Label, number>;
  /** e.g. `"17 / 200 labelled (12 normal, 2 artifact, 3 skipped)"`. */
  progress: string;
  /** The seed to show now; null when every seed is answered. */
  current: number | null;
  /** The seed after it (for preloading its image); null if none. */
  next: number | null;
  /** The answer that undo would remove; null if none. */
  last: { seed: number; label: Label } | null;
  /** Whether every listed seed has an answer. */
  done: boolean;
  /** The label file. */
  out: string;
}

/** A running labelling server. */
export interface LabelServer {
  /** The page, e.g. `http://127.0.0.1:43121/`. */
  url: string;
  /** Resolves with every row of the label file once each listed seed has an answer. */
  done: Promise<LabelSet>;
  /** Stop listening (answering requests in flight first). */
  close(): Promise<void>;
}

/** A client mistake, answered with its status and message. */
class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Runs async tasks one at a time, in call order. */
function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => {});
    return run;
  };
}

function checkSeedList(seeds: readonly number[]): void {
  if (seeds.length === 0) throw new Error("seeds: Expected at least one seed, got []");
  const seen = new Set<number>();
  for (const seed of seeds) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new Error(`seeds: Expected non-negative integers, got ${seed}`);
    }
    if (seen.has(seed)) throw new Error(`seeds: seed ${seed} is listed twice`);
    seen.add(seed);
  }
}

/** The labels already in `path`, or none when it does not exist yet. */
async function loadExisting(path: string): Promise<LabelSet> {
  try {
    return await readLabels(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw e;
  }
}

/**
 * Temporary files of `out` (named by `writeFileAtomic`: `.<name>.<8 hex digits>.tmp` beside it) that were
 * not modified for `olderThanMs`, i.e. left by a write that was killed; removed, best effort.
 */
async function removeStaleTemporaries(out: string, olderThanMs = 60_000): Promise<void> {
  const folder = dirname(out);
  const prefix = `.${basename(out)}.`;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(folder));
  } catch {
    return; // no folder yet: nothing to clean
  }
  for (const entry of entries) {
    const rest = entry.name.startsWith(prefix) ? entry.name.slice(prefix.length) : "";
    if (!entry.isFile || !/^[0-9a-f]{8}\.tmp$/.test(rest)) continue;
    const path = join(folder, entry.name);
    try {
      const { mtime } = await Deno.stat(path);
      if (mtime !== null && Date.now() - mtime.getTime() >= olderThanMs) await Deno.remove(path);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function json(value: unknown, status = 200): Response {
  return Response.json(value, { status, headers: { "cache-control": "no-store" } });
}

/** Largest POST body accepted: 64 KiB (an answer is about 30 bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The body of `req` as text, refusing (413) one longer than {@link MAX_BODY_BYTES} without reading on. */
async function limitedText(req: Request): Promise<string> {
  const tooLarge = () => new RequestError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (req.body === null) return "";
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > MAX_BODY_BYTES) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
  return new TextDecoder().decode(bytes);
}

/** The JSON body of a POST; refuses other content types and large bodies (see the module documentation). */
async function jsonBody(req: Request): Promise<unknown> {
  if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
    throw new RequestError(400, "send the body as application/json");
  }
  const text = await limitedText(req);
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError(400, "the body is not valid JSON");
  }
}

/** Loopback names a browser on this machine may use for the server; see {@link checkOrigin}. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/**
 * Refuses (403) a request whose `Host` is not one of `hosts` (name:port), or whose `Origin`, when sent, is
 * not `http://` one of them: a page of another site, even one whose name resolves to 127.0.0.1.
 */
function checkOrigin(req: Request, hosts: ReadonlySet<string>): void {
  const host = (req.headers.get("host") ?? "").toLowerCase();
  if (!hosts.has(host)) {
    throw new RequestError(
      403,
      `requests must be sent to this machine's own name, not Host ${JSON.stringify(host)}`,
    );
  }
  const origin = req.headers.get("origin");
  if (
    origin !== null &&
    !(origin.toLowerCase().startsWith("http://") && hosts.has(origin.toLowerCase().slice(7)))
  ) {
    throw new RequestError(403, `cross-origin requests are refused (Origin ${JSON.stringify(origin)})`);
  }
}

/**
 * Serve the labelling page for `seeds` (see the module documentation and {@link LabelServerOptions}).
 * Throws before listening when `out` exists but is not a valid label file, or when `seeds` is empty or
 * repeats a seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng } from "../io/png.ts";
 * import { startLabelServer } from "./label_server.ts";
 * const black = { data: new Uint8Array(4 * 4 * 3), height: 4, width: 4, channels: 3 };
 * const server = await startLabelServer({
 *   seeds: [0, 1],
 *   render: () => encodePng(black),
 *   out: `${await Deno.makeTempDir()}/labels.csv`,
 * });
 * const state = await (await fetch(`${server.url}api/state`)).json();
 * assert.equal(state.progress, "0 / 2 labelled (0 normal, 0 artifact, 0 skipped)");
 * await server.close();
 * ```
 */
export async function startLabelServer(options: LabelServerOptions): Promise<LabelServer> {
  const { seeds, out } = options;
  checkSeedList(seeds);
  const listed = new Set(seeds);
  const labels = await loadExisting(out);
  await removeStaleTemporaries(out);
  /** Seeds whose answers were undone, most recent last: they are asked again first. */
  let undone: number[] = [];
  const serialRender = oneAtATime();
  const serialChange = oneAtATime();
  const renders = new Map<number, Promise<Uint8Array>>(); // the few most recent, for preloading

  let finish: (set: LabelSet) => void = () => {};
  const done = new Promise<LabelSet>((resolve) => finish = resolve);

  const listedAnswers = () => [...labels].filter(([seed]) => listed.has(seed));

  function state(): LabelState {
    const answers = listedAnswers();
    const counts = countLabels(new Map(answers));
    const answered = answers.length;
    const order = [
      ...undone.toReversed(),
      ...seeds.filter((seed) => !labels.has(seed) && !undone.includes(seed)),
    ];
    const last = answers.at(-1);
    return {
      total: seeds.length,
      counts,
      progress: `${answered} / ${seeds.length} labelled ` +
        `(${counts.normal} normal, ${counts.artifact} artifact, ${counts.skip} skipped)`,
      current: order[0] ?? null,
      next: order[1] ?? null,
      last: last ? { seed: last[0], label: last[1].label } : null,
      done: answered === seeds.length,
      out,
    };
  }

  /** Save the labels; on failure undo `rollback` in memory so memory and file agree. */
  async function save(rollback: () => void): Promise<LabelState> {
    try {
      await writeLabels(out, labels);
    } catch (e) {
      rollback();
      throw e;
    }
    const now = state();
    options.onChange?.(now);
    if (now.done) finish(new Map(labels));
    return now;
  }

  function answer(body: unknown): Promise<LabelState> {
    const { seed, label } = (body ?? {}) as { seed?: unknown; label?: unknown };
    if (typeof seed !== "number" || !listed.has(seed)) {
      throw new RequestError(400, `seed ${JSON.stringify(seed)} is not on the list`);
    }
    if (!isLabel(label)) {
      throw new RequestError(400, `label ${JSON.stringify(label)} is not one of normal, artifact, skip`);
    }
    const previous = labels.get(seed);
    if (previous) {
      throw new RequestError(400, `seed ${seed} is already labelled ${previous.label}; undo it first`);
    }
    const undoneBefore = undone;
    labels.set(seed, { label, source: DEFAULT_SOURCE });
    undone = undone.filter((s) => s !== seed);
    return save(() => {
      labels.delete(seed);
      undone = undoneBefore;
    });
  }

  function undo(): Promise<LabelState> {
    const last = listedAnswers().at(-1);
    if (!last) throw new RequestError(400, "nothing to undo");
    const [seed, entry] = last;
    labels.delete(seed);
    undone.push(seed);
    return save(() => {
      labels.set(seed, entry); // back at the end: it was the most recent listed answer
      undone.pop();
    });
  }

  function image(seed: number): Promise<Uint8Array> {
    let png = renders.get(seed);
    if (!png) {
      png = serialRender(() => options.render(seed));
      png.catch(() => renders.delete(seed));
      renders.set(seed, png);
      if (renders.size > 4) renders.delete(renders.keys().next().value!);
    }
    return png;
  }

  async function route(req: Request): Promise<Response> {
    const { pathname } = new URL(req.url);
    const method = req.method;
    const expect = (wanted: string) => {
      if (method !== wanted) throw new RequestError(405, `${pathname} takes ${wanted}, not ${method}`);
    };
    if (pathname === "/") {
      expect("GET");
      return new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (pathname === "/api/state") {
      expect("GET");
      return json(state());
    }
    const imageMatch = pathname.match(/^\/api\/image\/(\d+)\.png$/);
    if (imageMatch) {
      expect("GET");
      const seed = Number(imageMatch[1]);
      if (!listed.has(seed)) throw new RequestError(404, `seed ${seed} is not on the list`);
      const png = await image(seed);
      return new Response(png.slice(), {
        headers: { "content-type": "image/png", "cache-control": "no-store" },
      });
    }
    if (pathname === "/api/label") {
      expect("POST");
      const body = await jsonBody(req);
      return json(await serialChange(() => answer(body)));
    }
    if (pathname === "/api/undo") {
      expect("POST");
      await jsonBody(req);
      return json(await serialChange(undo));
    }
    throw new RequestError(404, `no such page: ${pathname}`);
  }

  async function handler(req: Request): Promise<Response> {
    try {
      checkOrigin(req, hosts);
      return await route(req);
    } catch (e) {
      const status = e instanceof RequestError ? e.status : 500;
      return json({ error: e instanceof Error ? e.message : String(e) }, status);
    }
  }

  const hostname = options.hostname ?? "127.0.0.1";
  const hosts = new Set<string>(); // filled once the port is known, before any request is handled
  const server = Deno.serve({ hostname, port: options.port ?? 0, onListen: () => {} }, handler);
  const port = server.addr.port;
  // The loopback names, and the name it listens on as its url shows it (chosen by the caller).
  const names = [
    ...LOOPBACK_NAMES,
    hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname,
  ];
  for (const name of names) hosts.add(`${name.toLowerCase()}:${port}`);
  if (state().done) finish(new Map(labels));
  return {
    url: `http://${hostname}:${port}/`,
    done,
    close: () => server.shutdown(),
  };
}

/** The labelling page: markup, style and script in one document; ids are what the browser test reads. */
const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ganatomy: label samples</title>
<style>
  body { margin: 0; padding: 1rem; background: #1e1e1e; color: #eee; font: 16px system-ui, sans-serif;
         display: flex; flex-direction: column; align-items: center; gap: 0.75rem; }
  #image { width: min(65vh, 90vw); height: min(65vh, 90vw); object-fit: contain; image-rendering: pixelated;
           background: #000; }
  #seed { font-size: 1.4rem; font-weight: bold; }
  #buttons { display: flex; gap: 0.5rem; }
  button { font-size: 1.1rem; padding: 0.5rem 1rem; border: 0; border-radius: 4px; cursor: pointer; }
  button:disabled { opacity: 0.4; cursor: default; }
  #normal { background: #2e7d32; color: #fff; }
  #artifact { background: #c62828; color: #fff; }
  #skip, #undo { background: #555; color: #fff; }
  kbd { font-family: monospace; opacity: 0.8; }
  #message { color: #ff8a80; min-height: 1.2em; }
  #last, #help { color: #aaa; }
</style>
</head>
<body>
<div id="progress">loading…</div>
<div id="seed"></div>
<img id="image" alt="the current sample">
<p id="finished" hidden></p>
<div id="buttons">
  <button id="normal">normal <kbd>n / 1</kbd></button>
  <button id="artifact">artifact <kbd>a / 2</kbd></button>
  <button id="skip">skip <kbd>s / space</kbd></button>
  <button id="undo">undo <kbd>u / ⌫</kbd></button>
</div>
<div id="message"></div>
<div id="last"></div>
<div id="help">Every answer is saved at once; close the page at any time and run the command again to resume.</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const KEYS = { n: "normal", 1: "normal", a: "artifact", 2: "artifact", s: "skip", " ": "skip" };
let state = null;
let busy = false;

function show(s) {
  state = s;
  $("progress").textContent = s.progress;
  document.title = s.done ? "done: " + s.progress : s.progress;
  const has = s.current !== null;
  $("seed").textContent = has ? "seed " + s.current : "";
  $("image").hidden = !has;
  if (has) $("image").src = "/api/image/" + s.current + ".png";
  if (s.next !== null) new Image().src = "/api/image/" + s.next + ".png";
  $("finished").hidden = has;
  $("finished").textContent = "All " + s.total + " seeds are answered and saved in " + s.out + ".";
  for (const id of ["normal", "artifact", "skip"]) $(id).disabled = !has;
  $("undo").disabled = s.last === null;
  $("last").textContent = s.last ? "last: seed " + s.last.seed + " → " + s.last.label : "";
  document.body.dataset.done = String(s.done);
}

async function call(path, body) {
  busy = true;
  try {
    const init = body === undefined ? {} : {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    };
    const res = await fetch(path, init);
    const answer = await res.json();
    if (!res.ok) throw new Error(answer.error || res.statusText);
    $("message").textContent = "";
    show(answer);
  } catch (e) {
    $("message").textContent = "error: " + e.message;
  } finally {
    busy = false;
  }
}

function label(name) {
  if (!busy && state && state.current !== null) call("/api/label", { seed: state.current, label: name });
}

function undo() {
  if (!busy && state && state.last !== null) call("/api/undo", {});
}

for (const id of ["normal", "artifact", "skip"]) $(id).addEventListener("click", () => label(id));
$("undo").addEventListener("click", undo);
// Buttons never take the focus, so space and Backspace reach the key handler only.
for (const b of document.querySelectorAll("button")) b.addEventListener("mousedown", (e) => e.preventDefault());
$("image").addEventListener("error", () => {
  if (state && state.current !== null) $("message").textContent = "error: seed " + state.current + " did not render";
});
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const name = KEYS[e.key.toLowerCase()];
  if (name) {
    e.preventDefault();
    label(name);
  } else if (e.key === "u" || e.key === "U" || e.key === "Backspace") {
    e.preventDefault();
    undo();
  }
});
call("/api/state");
</script>
</body>
</html>
`;
