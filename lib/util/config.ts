/**
 * Typed experiment configs that the command line can override.
 *
 * An experiment declares its config as a plain object of defaults; every key becomes a `--kebab-case` flag of
 * the same type (number, string, boolean, or a comma-separated list of numbers or strings). A boolean flag is
 * set by `--flag`, `--flag=true` or `--flag=false`, and cleared by `--no-flag`. Unknown flags and values of the
 * wrong type are errors that name the flag.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const cfg = parseConfig({ steps: 10, backend: "wasm", verbose: false }, ["--steps", "3"]);
 * console.log(cfg.steps); // 3
 * ```
 * @module
 */
import { parseArgs } from "node:util";

type Value = number | string | boolean | number[] | string[];

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function convert(flag: string, raw: string, like: Value): Value {
  const num = (s: string) => {
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v)) throw new Error(`--${flag} expects a number, got "${s}"`);
    return v;
  };
  if (typeof like === "number") return num(raw);
  if (Array.isArray(like)) {
    const parts = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    return typeof like[0] === "string" ? parts : parts.map(num);
  }
  return raw;
}

/**
 * Override `defaults` with flags from `args` (default `Deno.args`); `--help` prints the flags and exits.
 * Returns a new object of the same type; positional arguments are rejected unless `positionals` is set.
 */
export function parseConfig<T extends Record<string, Value>>(
  defaults: T,
  args: string[] = Deno.args,
  options: { positionals?: boolean; description?: string } = {},
): T & { _: string[] } {
  const spec: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [key, value] of Object.entries(defaults)) {
    spec[kebab(key)] = { type: typeof value === "boolean" ? "boolean" : "string" };
  }
  // Booleans: `--no-flag` and `--flag=true|false` become what parseArgs understands.
  const cleared = new Set<string>();
  const rest = args.flatMap((arg) => {
    const m = arg.match(/^--(no-)?([a-z0-9-]+)(?:=(true|false))?$/);
    if (!m || spec[m[2]]?.type !== "boolean" || (m[1] && m[3])) return [arg];
    if (m[1] || m[3] === "false") {
      cleared.add(m[2]);
      return [];
    }
    return [`--${m[2]}`];
  });
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: spec,
      allowPositionals: options.positionals ?? false,
      strict: true,
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\nflags: ${Object.keys(spec).map((k) => `--${k}`).join(" ")}`);
  }
  if (parsed.values.help) {
    if (options.description) console.log(options.description);
    for (const [key, value] of Object.entries(defaults)) {
      console.log(`  --${kebab(key)}  (default: ${Array.isArray(value) ? value.join(",") : value})`);
    }
    Deno.exit(0);
  }
  const out: Record<string, Value> = { ...defaults };
  for (const [key, value] of Object.entries(defaults)) {
    if (cleared.has(kebab(key))) {
      out[key] = false;
      continue;
    }
    const raw = parsed.values[kebab(key)];
    if (raw === undefined) continue;
    out[key] = typeof raw === "boolean" ? raw : convert(kebab(key), raw, value);
  }
  return { ...(out as T), _: parsed.positionals };
}
