/**
 * The layering of `lib/`: every folder imports only from the folders listed above it in {@link LAYERS}, the
 * order of README's Layout section; `lib/cli.ts` and `lib/mod.ts` sit on top of them all.
 *
 * Every `.ts` file under `lib/` counts, its tests included: static `import … from "…"`, `import "…"`,
 * `export … from "…"`, and dynamic `import("…")` with a literal. Comments (doc examples among them) and the
 * contents of strings and template literals are not code, so an import written inside them does not count.
 * Imports of packages (`npm:`, `node:`, the import map) and of files outside `lib/` (`tests/optional.ts`, the
 * fixtures) are not layered.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");
const LIB = join(ROOT, "lib");

/**
 * The folders of `lib/`, lowest first: a folder may import from itself and from the folders before it.
 *
 * - `backend`, `tensor`, `io`: the tfjs backends, tensor helpers (and float64 linear algebra), files and
 *   formats;
 * - `viz`, `util`: pictures and figures; experiment plumbing (configs, progress, run metadata), which saves
 *   figures;
 * - `stats`: streaming statistics (their tally reports progress);
 * - `data`, `models`, `engine`, `train`: data sets; the networks, generators as descriptions; the engines
 *   that run the descriptions; training;
 * - `dissect`, `metrics`, `gradcam`, `correct`: the methods, the correction last since it uses all the
 *   others.
 */
export const LAYERS = [
  "backend",
  "tensor",
  "io",
  "viz",
  "util",
  "stats",
  "data",
  "models",
  "engine",
  "train",
  "dissect",
  "metrics",
  "gradcam",
  "correct",
  "planted",
] as const;

/** The files directly under `lib/`, above every folder. */
const TOP_FILES = ["cli.ts", "mod.ts"];
const TOP = "(top)";

/** A token of TypeScript source: an identifier or keyword, a string literal (its value), or punctuation. */
type Token = { kind: "word" | "punct"; text: string } | { kind: "string"; text: string; template: boolean };

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
/** Keywords after which a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/**
 * The tokens of `src`, comments dropped. Strings become one token holding their (unescaped enough) value; a
 * template literal becomes one string token (with `template: true`, its text empty when it has substitutions,
 * whose code is scanned and dropped); regular expressions are skipped.
 */
export function tokenize(src: string): Token[] {
  let i = 0;
  const fail = (what: string): never => {
    const line = src.slice(0, i).split("\n").length;
    throw new Error(`tokenize: ${what} at line ${line}`);
  };
  /** Scan tokens until the end, or until an unmatched `}` when `nested` (a template substitution). */
  function scan(nested: boolean): Token[] {
    const out: Token[] = [];
    let depth = 0;
    while (i < src.length) {
      const c = src[i];
      const next = src[i + 1];
      if (c === "/" && next === "/") {
        const end = src.indexOf("\n", i);
        i = end < 0 ? src.length : end;
      } else if (c === "/" && next === "*") {
        const end = src.indexOf("*/", i + 2);
        if (end < 0) fail("unterminated comment");
        i = end + 2;
      } else if (c === '"' || c === "'") {
        let text = "";
        i++;
        while (src[i] !== c) {
          if (i >= src.length || src[i] === "\n") fail("unterminated string");
          if (src[i] === "\\") i++;
          text += src[i++];
        }
        i++;
        out.push({ kind: "string", text, template: false });
      } else if (c === "`") {
        i++;
        let text = "";
        let substituted = false;
        while (src[i] !== "`") {
          if (i >= src.length) fail("unterminated template literal");
          if (src[i] === "\\") {
            text += src[i + 1];
            i += 2;
          } else if (src[i] === "$" && src[i + 1] === "{") {
            i += 2;
            scan(true); // the substitution's code, up to its closing brace
            substituted = true;
          } else {
            text += src[i++];
          }
        }
        i++;
        out.push({ kind: "string", text: substituted ? "" : text, template: true });
      } else if (c === "/" && startsRegex(out.at(-1))) {
        i++;
        let inClass = false;
        while (inClass || src[i] !== "/") {
          if (i >= src.length || src[i] === "\n") fail("unterminated regular expression");
          if (src[i] === "\\") i++;
          else if (src[i] === "[") inClass = true;
          else if (src[i] === "]") inClass = false;
          i++;
        }
        i++;
        while (i < src.length && WORD.test(src[i])) i++; // flags
      } else if (WORD.test(c)) {
        let text = "";
        while (i < src.length && WORD.test(src[i])) text += src[i++];
        out.push({ kind: "word", text });
      } else if (/\s/.test(c)) {
        i++;
      } else {
        if (c === "{") depth++;
        if (c === "}") {
          if (nested && depth === 0) {
            i++;
            return out;
          }
          depth--;
        }
        out.push({ kind: "punct", text: c });
        i++;
      }
    }
    if (nested) fail("unterminated template substitution");
    return out;
  }
  return scan(false);
}

/** Whether a `/` after `previous` starts a regular expression (rather than dividing). */
function startsRegex(previous: Token | undefined): boolean {
  if (!previous) return true;
  if (previous.kind === "string") return false;
  if (previous.kind === "word") return BEFORE_REGEX.has(previous.text);
  return previous.text !== ")" && previous.text !== "]" && previous.text !== "}";
}

/** A string token's value, if `t` is a string literal usable as a specifier. */
function specifier(t: Token | undefined): string | undefined {
  return t?.kind === "string" && (!t.template || t.text !== "") ? t.text : undefined;
}

/**
 * The specifiers `src` imports or re-exports: `import … from "x"`, `import "x"`, `export … from "x"` and
 * `import("x")` (a literal only), in source order.
 */
export function importsOf(src: string): string[] {
  const tokens = tokenize(src);
  const found: string[] = [];
  const is = (k: number, text: string) => tokens[k]?.kind !== "string" && tokens[k]?.text === text;
  /** From `k`, the specifier after `from` at the end of an import or export clause, if the clause is one. */
  const fromClause = (k: number): string | undefined => {
    for (; k < tokens.length; k++) {
      const t = tokens[k];
      if (t.kind === "string") return undefined;
      if (t.text === "from") return specifier(tokens[k + 1]);
      if (t.kind === "punct" && !["{", "}", ",", "*"].includes(t.text)) return undefined;
    }
    return undefined;
  };
  for (let k = 0; k < tokens.length; k++) {
    if (tokens[k].kind !== "word" || is(k - 1, ".")) continue; // `x.import` is not the keyword
    let spec: string | undefined;
    if (tokens[k].text === "import") {
      if (is(k + 1, "(")) spec = is(k + 3, ")") || is(k + 3, ",") ? specifier(tokens[k + 2]) : undefined;
      else if (is(k + 1, ".")) spec = undefined; // import.meta
      else spec = specifier(tokens[k + 1]) ?? fromClause(k + 1);
    } else if (tokens[k].text === "export" && (is(k + 1, "{") || is(k + 1, "*") || is(k + 1, "type"))) {
      spec = fromClause(k + 1);
    }
    if (spec !== undefined) found.push(spec);
  }
  return found;
}

/** The layer of a path under `lib/`: its folder, or {@link TOP} for `cli.ts` and `mod.ts`. */
function layerOf(path: string): string {
  const parts = relative(LIB, path).split("/");
  if (parts.length === 1) {
    if (!TOP_FILES.includes(parts[0])) {
      throw new Error(`lib/${parts[0]}: only ${TOP_FILES} sit in lib/ itself`);
    }
    return TOP;
  }
  return parts[0];
}

/** The rank of a layer (higher is above); throws for a folder missing from {@link LAYERS}. */
function rank(layer: string): number {
  if (layer === TOP) return LAYERS.length;
  const r = (LAYERS as readonly string[]).indexOf(layer);
  if (r < 0) throw new Error(`lib/${layer}/ is not in LAYERS (tests/layering_test.ts) nor README's Layout`);
  return r;
}

function tsFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory ? tsFiles(path) : e.name.endsWith(".ts") ? [path] : [];
  }).sort();
}

Deno.test("layering: the import parser sees code, not comments or strings", () => {
  const src = [
    `import * as tf from "@tensorflow/tfjs-core";`,
    `import type { A, B } from "./a.ts";`,
    `import C, { d as e } from './c.ts';`,
    `import "./side_effect.ts";`,
    `export * from "./f.ts";`,
    `export * as g from "./g.ts";`,
    `export type { H } from "./h.ts";`,
    `export { i } from "./i.ts";`,
    `export const j = 1;`,
    `const k = await import("./k.ts");`,
    "const l = await import(`./l.ts`);",
    "const m = await import(`./${name}.ts`); // not a literal",
    `const n = await import(spec);`,
    `/** @example`,
    ` * import { x } from "../above/x.ts";`,
    ` */`,
    `// import { y } from "../above/y.ts";`,
    'const script = `import { z } from "../above/z.ts"; ${`nested ${1} }`}`;',
    `const s = "import { w } from '../above/w.ts'";`,
    `const url = new URL("./u.ts", import.meta.url);`,
    `const re = /"\\/\\*[^/]*/g, ratio = a / b / c;`,
    `const o = { import: 1 }; o.import;`,
  ].join("\n");
  assert.deepEqual(importsOf(src), [
    "@tensorflow/tfjs-core",
    "./a.ts",
    "./c.ts",
    "./side_effect.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./i.ts",
    "./k.ts",
    "./l.ts",
  ]);
});

Deno.test("layering: every lib/ folder imports only from folders listed above it", () => {
  const folders = [...Deno.readDirSync(LIB)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  assert.deepEqual(folders, [...LAYERS].sort(), "LAYERS must list every folder of lib/ exactly once");
  const upward: string[] = [];
  let imports = 0;
  for (const file of tsFiles(LIB)) {
    const from = layerOf(file);
    for (const spec of importsOf(Deno.readTextFileSync(file))) {
      if (!spec.startsWith(".")) continue; // packages: npm:, node:, the import map
      const target = resolve(dirname(file), spec);
      if (relative(LIB, target).startsWith("..")) continue; // tests/optional.ts, fixtures
      imports++;
      const to = layerOf(target);
      if (rank(to) > rank(from)) {
        upward.push(`${relative(ROOT, file)} → ${spec} (${from} imports ${to}, which is above it)`);
      }
    }
  }
  assert.ok(imports > 500, `only ${imports} imports within lib/ were found; is the parser broken?`);
  assert.deepEqual(upward, [], `imports that run up the layering:\n${upward.join("\n")}`);
});

Deno.test("layering: README's Layout lists the folders of lib/ in the order of LAYERS", () => {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.split(/^## /m).find((s) => s.startsWith("Layout\n"));
  assert.ok(section, "README.md has no ## Layout section");
  const listed = [...section.matchAll(/^ {2}(\w+)\/ /gm)].map((m) => m[1]);
  assert.deepEqual(listed, [...LAYERS], "the folders under lib/ in README's Layout, in order");
  assert.match(section, /^ {2}cli\.ts /m, "the Layout lists lib/cli.ts after the folders");
  assert.match(
    section.replace(/\s+/g, " "),
    /each folder imports only from the folders listed above it/,
    "the Layout states the rule",
  );
});
