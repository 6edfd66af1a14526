/**
 * One command-line idiom for every command: a typed flag spec, real help, usage errors before any work.
 *
 * A command declares its flags as a spec: each key becomes a `--kebab-case` flag whose type is its default's
 * (number, string, boolean, or a comma-separated list of numbers or strings), with a one-line meaning and
 * optional checks (choices, integer, range, required, an existing file, a custom check). {@link parseConfig}
 * returns the typed values or throws a {@link UsageError} naming the flag; `--help`/`-h` throws
 * {@link HelpRequested} with the command's usage. {@link commandConfig} is the entry point of a script: it
 * installs {@link installErrorHandler} (one line per error, no stack trace unless `--debug` or
 * `GANATOMY_DEBUG=1`), prints the usage for `--help` (exit 0), and a usage error with the command's usage
 * (exit 2).
 *
 * Values are taken as given, so `--seeds -5` reaches the seed parser (which says what is wrong) instead of
 * being taken for a flag. A boolean is set by `--flag` or `--flag=true` and cleared by `--no-flag` or
 * `--flag=false`; one that is on by default is listed as `--no-flag`.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { parseConfig, usage } from "./config.ts";
 * const spec = {
 *   steps: { default: 10, help: "optimiser steps", integer: true, min: 1 },
 *   backend: { default: "wasm", help: "tfjs backend", choices: ["wasm", "cpu"] },
 *   figures: { default: true, help: "write figures" },
 * };
 * const info = { command: "deno task train", summary: "Train a model." };
 * const cfg = parseConfig(spec, ["--steps", "3", "--no-figures"], info);
 * assert.deepEqual([cfg.steps, cfg.backend, cfg.figures], [3, "wasm", false]);
 * assert.match(usage(spec, info), /--backend <wasm\|cpu>\s+tfjs backend \(default: wasm\)/);
 * assert.throws(() => parseConfig(spec, ["--backend", "gpu"], info), /--backend must be one of wasm, cpu/);
 * ```
 * @module
 */

/** A flag's value type. */
export type Value = number | string | boolean | number[] | string[];

/** One flag: its default (which gives its type), its meaning, and the checks run before any work. */
export interface Flag<V extends Value = Value> {
  default: V;
  /** One line: what the flag means (shown by `--help`). */
  help: string;
  /** Allowed values of a string flag (or of each item of a string list). */
  choices?: readonly string[];
  /** Numbers (or each number of a list) must be integers. */
  integer?: boolean;
  /** Inclusive lower bound of a number (or of each item). */
  min?: number;
  /** Inclusive upper bound of a number (or of each item). */
  max?: number;
  /** The flag must be given (a string flag: non-empty). */
  required?: boolean;
  /** A string flag naming a file or folder that must exist when given. */
  exists?: boolean;
  /** A further check of the parsed value: a message of what is wrong, or undefined. */
  check?(value: V): string | undefined;
  /** Item type of a list flag whose default is empty (`[]` does not tell); default "string". */
  items?: "number" | "string";
  /** How the default is shown, when the value alone would mislead (e.g. "GANATOMY_BACKEND or wasm"). */
  defaultText?: string;
  /** Placeholder in the usage (default from the type: `<n>`, `<x>`, `<list>`, `<file>`, …). */
  meta?: string;
}

/** A command's flags by camelCase key. */
export type Spec = Record<string, Flag<Value>>;

/** The parsed values of a spec, plus the positional arguments in `_`. */
export type Config<S extends Spec> = { -readonly [K in keyof S]: S[K]["default"] } & { _: string[] };

/** A positional argument. */
export interface Positional {
  name: string;
  help: string;
  /** It must be an existing file or folder. */
  exists?: boolean;
}

/** What a command's usage says besides its flags. */
export interface CommandInfo {
  /** How it is run, e.g. `deno task generate`. */
  command: string;
  /** One sentence: what it does. */
  summary: string;
  /** Positional arguments, in order (all required unless `optionalPositionals`). */
  positionals?: Positional[];
  /** How many of the positionals may be left out (from the end); default 0. */
  optionalPositionals?: number;
  /** The last positional may be repeated (`<paths>…`). */
  variadic?: boolean;
  /** Extra lines after the flags (examples, notes). */
  details?: string;
  /** A check across flags: a message of what is wrong, or undefined. */
  validate?(config: Record<string, Value> & { _: string[] }): string | undefined;
}

/** A problem with the command line; `usage` is the command's usage text. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `--help` was given; `usage` is what to print. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

function copy(v: Value): Value {
  return Array.isArray(v) ? (v.slice() as Value) : v;
}

/** `camelCase` → `camel-case`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function metaOf(flag: Flag): string {
  if (flag.meta) return flag.meta;
  const v = flag.default;
  if (typeof v === "number") return flag.integer ? "<n>" : "<x>";
  if (Array.isArray(v)) {
    return (v.length ? typeof v[0] === "number" : flag.items === "number") ? "<n,…>" : "<a,…>";
  }
  if (flag.choices) return `<${flag.choices.join("|")}>`;
  return "<value>";
}

function shown(v: Value): string {
  if (Array.isArray(v)) return v.length ? v.join(",") : "none";
  if (v === "") return "none";
  return String(v);
}

/** The usage text of a command: synopsis, summary, one line per flag (meaning, default, choices). */
export function usage(spec: Spec, info: CommandInfo): string {
  const pos = (info.positionals ?? []).map((p, i) =>
    (i >= (info.positionals!.length - (info.optionalPositionals ?? 0)) ? `[<${p.name}>]` : `<${p.name}>`) +
    (info.variadic && i === info.positionals!.length - 1 ? "…" : "")
  );
  const required = Object.entries(spec).filter(([, f]) => f.required).map(([k, f]) =>
    `--${kebab(k)} ${metaOf(f)}`
  );
  const lines = [
    `usage: ${[info.command, ...pos, ...required, "[flags]"].join(" ")}`,
    "",
    info.summary,
  ];
  const rows: [string, string][] = [];
  for (const p of info.positionals ?? []) rows.push([`<${p.name}>`, p.help]);
  for (const [key, flag] of Object.entries(spec)) {
    const name = kebab(key);
    let left: string;
    let right = flag.help;
    if (typeof flag.default === "boolean") {
      left = flag.default ? `--no-${name}` : `--${name}`;
      right += flag.default ? " (on by default; --no-" + name + " turns it off)" : " (off by default)";
    } else {
      left = `--${name} ${metaOf(flag)}`;
      const notes: string[] = [];
      if (flag.required) notes.push("required");
      else notes.push(`default: ${flag.defaultText ?? shown(flag.default)}`);
      if (flag.choices && (Array.isArray(flag.default) || flag.meta)) {
        notes.push(`one of ${flag.choices.join(", ")}`);
      }
      if (flag.min !== undefined && flag.max !== undefined) notes.push(`${flag.min} … ${flag.max}`);
      else if (flag.min !== undefined) notes.push(`≥ ${flag.min}`);
      else if (flag.max !== undefined) notes.push(`≤ ${flag.max}`);
      right += ` (${notes.join("; ")})`;
    }
    rows.push([left, right]);
  }
  rows.push(["-h, --help", "print this help and exit"]);
  rows.push(["--debug", "show the stack trace of an error (also GANATOMY_DEBUG=1)"]);
  const width = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  lines.push("", info.positionals?.length ? "arguments and flags:" : "flags:");
  for (const [l, r] of rows) {
    lines.push(l.length > width ? `  ${l}\n  ${" ".repeat(width)}  ${r}` : `  ${l.padEnd(width)}  ${r}`);
  }
  if (info.details) lines.push("", info.details);
  return lines.join("\n");
}

function closest(name: string, names: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i][j] = Math.min(
          d[i - 1][j] + 1,
          d[i][j - 1] + 1,
          d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
    }
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const dd = dist(name, n);
    if (dd < bestD) [best, bestD] = [n, dd];
  }
  return best;
}

/** Whether a file or folder exists (synchronously; for checks before any work). */
export function existsPath(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `--debug` or `GANATOMY_DEBUG=1` asks for stack traces. */
export function debugMode(args: readonly string[] = Deno.args): boolean {
  return args.includes("--debug") || Deno.env.get("GANATOMY_DEBUG") === "1";
}

/**
 * Parse `args` against `spec`. Throws {@link UsageError} (unknown flag, missing or malformed value, failed
 * check, wrong number of positionals) or {@link HelpRequested}; never starts any work.
 */
export function parseConfig<S extends Spec>(spec: S, args: readonly string[], info: CommandInfo): Config<S> {
  const text = () => usage(spec, info);
  const fail = (message: string): never => {
    throw new UsageError(message, text());
  };
  const byFlag = new Map<string, string>(Object.keys(spec).map((k) => [kebab(k), k]));
  const out: Record<string, Value> = {};
  for (const [k, f] of Object.entries(spec)) out[k] = copy(f.default);
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") throw new HelpRequested(text());
    if (arg === "--debug") continue;
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const m = arg.match(/^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s);
    if (!m) fail(`unknown option "${arg}" (flags start with --)`);
    let [, name, inline] = m!;
    let key = byFlag.get(name);
    let negated = false;
    if (
      !key && name.startsWith("no-") && typeof spec[byFlag.get(name.slice(3)) ?? ""]?.default === "boolean"
    ) {
      key = byFlag.get(name.slice(3));
      negated = true;
      name = name.slice(3);
    }
    if (!key) {
      const guess = closest(name, [...byFlag.keys()]);
      fail(`unknown flag --${name}${guess ? ` (did you mean --${guess}?)` : ""}`);
    }
    const flag = spec[key!];
    given.add(key!);
    if (typeof flag.default === "boolean") {
      if (negated && inline !== undefined) fail(`--no-${name} takes no value`);
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        fail(`--${name} is on or off: --${name}, --no-${name} or --${name}=true|false, got "${inline}"`);
      }
      out[key!] = negated ? false : inline !== "false";
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= args.length) fail(`--${name} needs a value (${metaOf(flag)})`);
      raw = args[++i];
    }
    out[key!] = convert(name, raw!, flag, fail);
  }
  for (const [key, flag] of Object.entries(spec)) {
    const name = kebab(key);
    const v = out[key];
    if (flag.required && (!given.has(key) && (v === "" || (Array.isArray(v) && v.length === 0)))) {
      fail(`--${name} is required (${flag.help})`);
    }
    if (flag.exists && typeof v === "string" && v !== "" && !existsPath(v)) {
      fail(`--${name}: ${v}: no such file or folder`);
    }
    if (flag.check && given.has(key)) {
      const problem = flag.check(v as never);
      if (problem) fail(`--${name}: ${problem}`);
    }
  }
  const ps = info.positionals ?? [];
  const least = ps.length - (info.optionalPositionals ?? 0);
  if (positionals.length < least || (positionals.length > ps.length && !info.variadic)) {
    if (ps.length === 0) fail(`unexpected argument "${positionals[0]}" (this command takes flags only)`);
    fail(
      `expected ${least === ps.length ? ps.length : `${least} to ${ps.length}`} argument(s) ` +
        `(${ps.map((p) => `<${p.name}>`).join(" ")}), got ${positionals.length}`,
    );
  }
  positionals.forEach((p, i) => {
    if (ps[i]?.exists && !existsPath(p)) fail(`<${ps[i].name}>: ${p}: no such file or folder`);
  });
  const config = { ...out, _: positionals } as Config<S>;
  const problem = info.validate?.(config as Record<string, Value> & { _: string[] });
  if (problem) fail(problem);
  return config;
}

function convert(name: string, raw: string, flag: Flag, fail: (m: string) => never): Value {
  const number = (s: string): number => {
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v)) fail(`--${name} expects a number, got "${s}"`);
    if (flag.integer && !Number.isInteger(v)) fail(`--${name} expects a whole number, got "${s}"`);
    if (flag.min !== undefined && v < flag.min) fail(`--${name} must be at least ${flag.min}, got ${s}`);
    if (flag.max !== undefined && v > flag.max) fail(`--${name} must be at most ${flag.max}, got ${s}`);
    return v;
  };
  const choice = (s: string): string => {
    if (flag.choices && !flag.choices.includes(s)) {
      const guess = closest(s, [...flag.choices]);
      fail(
        `--${name} must be one of ${flag.choices.join(", ")}, got "${s}"${
          guess ? ` (did you mean ${guess}?)` : ""
        }`,
      );
    }
    return s;
  };
  const d = flag.default;
  if (typeof d === "number") return number(raw);
  if (Array.isArray(d)) {
    const parts = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const numeric = d.length ? typeof d[0] === "number" : flag.items === "number";
    return numeric ? parts.map(number) : parts.map(choice);
  }
  return choice(raw);
}

/**
 * Report any uncaught error of this process in one line (`error: …`) and exit 1; a {@link UsageError} also
 * prints the command's usage and exits 2. The stack is shown with `--debug` or `GANATOMY_DEBUG=1`.
 */
export function installErrorHandler(): void {
  const g = globalThis as { __ganatomyErrors?: boolean };
  if (g.__ganatomyErrors) return;
  g.__ganatomyErrors = true;
  const report = (e: unknown) => {
    reportError(e);
    Deno.exit(e instanceof UsageError ? 2 : e instanceof HelpRequested ? 0 : 1);
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    report(event.error);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    report(event.reason);
  });
}

/** Print an error as a command-line user should see it (see {@link installErrorHandler}). */
export function reportError(e: unknown): void {
  if (e instanceof HelpRequested) {
    console.log(e.usage);
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n\n${err.usage}`);
    return;
  }
  console.error(`error: ${err.message.split("\n")[0]}`);
  if (debugMode()) console.error(err.stack ?? "");
}

/**
 * A script's configuration: installs the error handler, then parses `args` (default `Deno.args`); `--help`
 * prints the usage and exits 0, a usage error prints the problem and the usage and exits 2.
 */
export function commandConfig<S extends Spec>(
  spec: S,
  info: CommandInfo,
  args: readonly string[] = Deno.args,
): Config<S> {
  installErrorHandler();
  try {
    return parseConfig(spec, args, info);
  } catch (e) {
    reportError(e);
    Deno.exit(e instanceof HelpRequested ? 0 : 2);
  }
}

/** The plain values of a spec's defaults (for code that runs a command in-process without a command line). */
export function defaults<S extends Spec>(spec: S): Config<S> {
  const out: Record<string, Value> = {};
  for (const [k, f] of Object.entries(spec)) out[k] = copy(f.default);
  return { ...out, _: [] } as Config<S>;
}
