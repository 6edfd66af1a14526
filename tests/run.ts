/**
 * The test command: `deno task test`.
 *
 * Runs every `*_test.ts` under `lib/`, `experiments/` and `tests/` (notebooks execute in `tests/notebooks_test.ts`),
 * each file in its own `deno test` process: ONNX Runtime's native addon can start only once per process, so files
 * that use it must not share one. The runnable `@example` blocks of every `lib/` module run too (`deno test --doc`),
 * unless paths are given. Two processes run at a time. A file's output is shown when it fails (all of it with
 * `--verbose`). At the end: what was skipped for lack of a system package (each with what is missing and the
 * install line), and one closing line `tests: N passed, N failed` (`, N skipped` when some were).
 *
 *     deno task test [--verbose] [--jobs 2] [--optional-only] [--expect-skips] [paths or files …]
 *                    [-- extra deno test flags]
 *
 * Optional packages (Chromium, Fashion-MNIST, Jupyter, Debian's torch). Tests that need one ask the probes of
 * `tests/optional.ts` (`optionalTest`, `optionalCheck`): skipped with the reason and the install line when it is
 * missing. An `@example` block that needs one says so in a comment line of its code, with the probe's key from
 * `REQUIREMENTS` in `tests/optional.ts` (`chromium`, `fashion-mnist`, `jupyter`, `torch`; several separated by
 * commas):
 *
 *     // requires: fashion-mnist
 *
 * The runner reads every runnable code block of the JSDoc of `lib/` (as `deno test --doc` does) and its
 * `// requires:` lines. A block whose requirements are missing does not run: it is counted as skipped and listed
 * (under deno's name for it, e.g. `lib/data/fashion.ts#7-17`) with what is missing and the install line. The other
 * blocks of its module still run, in a second `deno test --doc` job restricted to them by `--filter`; for every
 * module with such a line, the runner checks that deno ran exactly the blocks it meant to run.
 *
 * Environment (see `tests/optional.ts`):
 * - `GANATOMY_REQUIRE_ALL=1` (`.ci/run`): a missing requirement fails instead of skipping, doc examples included.
 * - `GANATOMY_PRETEND_MISSING=1`: every probe reports "missing", as on a machine without the optional packages.
 *
 * Flags:
 * - `--optional-only`: only the test files that use `tests/optional.ts` and the `@example` blocks that name a
 *   requirement; with `GANATOMY_PRETEND_MISSING=1` this is the quick check that the suite passes, skipping, on a
 *   fresh machine (`.ci/run` runs it before the full suite).
 * - `--expect-skips`: fail unless something was skipped or left out for lack of a package (for that check).
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { commandConfig } from "../lib/util/config.ts";
import {
  missingError,
  missingReason,
  PART_SKIP_MARKER,
  pretendMissing,
  requireAll,
  type Requirement,
  REQUIREMENTS,
  SKIP_MARKER,
} from "./optional.ts";

const ROOT = resolve(import.meta.dirname!, "..");
const dashdash = Deno.args.indexOf("--");
const extra = dashdash >= 0 ? Deno.args.slice(dashdash + 1) : [];
const values = commandConfig(
  {
    verbose: { default: false, help: "show every file's output, not only the failing ones'" },
    jobs: { default: 2, help: "test processes at a time", integer: true, min: 1, max: 64 },
    optionalOnly: {
      default: false,
      help: "only the tests and doc examples that need an optional Debian package (with " +
        "GANATOMY_PRETEND_MISSING=1: the quick check of a fresh machine)",
    },
    expectSkips: { default: false, help: "fail unless something was skipped for lack of a package" },
  },
  {
    command: "deno task test",
    summary: "Every test file in its own process, and the runnable @example blocks of lib/; " +
      "closes with `tests: N passed, N failed`.",
    positionals: [{ name: "paths", help: "test files or folders (default: lib, experiments, tests)" }],
    optionalPositionals: 1,
    variadic: true,
    details: "Arguments after `--` go to `deno test`. Environment: GANATOMY_REQUIRE_ALL=1 makes a missing " +
      "optional package fatal; GANATOMY_PRETEND_MISSING=1 pretends every optional package is missing.",
  },
  dashdash >= 0 ? Deno.args.slice(0, dashdash) : Deno.args,
);
const targets = values._;
const optionalOnly = values.optionalOnly;

function findTests(path: string): string[] {
  const info = Deno.statSync(path);
  if (info.isFile) return path.endsWith("_test.ts") ? [path] : [];
  return [...Deno.readDirSync(path)]
    .filter((e) => e.name !== "node_modules" && !e.name.startsWith("."))
    .flatMap((e) => findTests(join(path, e.name)));
}

function findModules(path: string): string[] {
  return [...Deno.readDirSync(path)].flatMap((e) =>
    e.isDirectory
      ? findModules(join(path, e.name))
      : e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")
      ? [join(path, e.name)]
      : []
  );
}

/** Whether a test file imports `tests/optional.ts` (so that some of it needs an optional package). */
function usesProbes(file: string): boolean {
  return /from\s+["'][^"']*\/optional\.ts["']/.test(Deno.readTextFileSync(file));
}

// ---------------------------------------------------------------------------------------------------------
// `@example` blocks and what they require

/** The languages whose fenced blocks in JSDoc `deno test --doc` runs (a block marked `ignore` it does not). */
const RUNNABLE = new Set(["ts", "typescript", "mts", "cts", "tsx", "js", "javascript", "mjs", "cjs", "jsx"]);
const REQUIRES_LINE = /^\/\/\s*requires:\s*(.*)$/;

/** One runnable code block of a module's JSDoc. */
interface DocExample {
  /** deno's name for it: `lib/data/fashion.ts#7-16` (the opening fence's line to the line after the closing one). */
  name: string;
  /** Keys of {@link REQUIREMENTS} from its `// requires:` lines. */
  requires: string[];
}

/** The runnable code blocks in the JSDoc comments of `file` (`rel` is its path for the names). */
function docExamples(file: string, rel: string): DocExample[] {
  const lines = Deno.readTextFileSync(file).split("\n");
  const examples: DocExample[] = [];
  let inDoc = false;
  let block: { start: number; runnable: boolean; requires: string[] } | undefined;
  lines.forEach((raw, i) => {
    if (!inDoc) {
      // A JSDoc comment starts its line; one that ends on the same line holds no code block.
      if (/^\s*\/\*\*/.test(raw) && !raw.trim().slice(3).includes("*/")) inDoc = true;
      return;
    }
    if (raw.includes("*/")) {
      inDoc = false;
      block = undefined;
      return;
    }
    const text = raw.replace(/^\s*\*\s?/, "");
    const fence = text.match(/^\s*```\s*(\S*)(.*)$/);
    if (fence && !block) {
      const lang = fence[1].toLowerCase();
      const ignored = /\bignore\b/.test(fence[2]) || fence[1].includes(",ignore");
      block = { start: i + 1, runnable: RUNNABLE.has(lang.split(",")[0]) && !ignored, requires: [] };
    } else if (fence && block) {
      if (block.runnable) examples.push({ name: `${rel}#${block.start}-${i + 2}`, requires: block.requires });
      block = undefined;
    } else if (block) {
      const m = text.trim().match(REQUIRES_LINE);
      if (m) {
        for (const key of m[1].split(/[\s,]+/).filter(Boolean)) {
          if (!(key in REQUIREMENTS)) {
            throw new Error(
              `${rel}:${i + 1}: unknown requirement "${key}" in "// requires:"; known: ${
                Object.keys(REQUIREMENTS).join(", ")
              } (tests/optional.ts)`,
            );
          }
          if (!block.requires.includes(key)) block.requires.push(key);
        }
      }
    }
  });
  return examples;
}

const probed = new Map<string, Requirement>();
/** The probe of a key, asked once. */
function requirement(key: string): Requirement {
  if (!probed.has(key)) probed.set(key, REQUIREMENTS[key]());
  return probed.get(key)!;
}

/** A `lib/` module some of whose examples name requirements, and which of its blocks are to run. */
interface GatedModule {
  rel: string;
  run: string[];
}

/** A `--filter` regular expression that deno matches against doc test names (`file:///…/lib/x.ts#3-9.ts`). */
function nameFilter(names: string[]): string {
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return `/\\/(?:${escaped.join("|")})\\.[a-z]+$/`;
}

// ---------------------------------------------------------------------------------------------------------
// The jobs

/** One `deno test` process: a test file, or the doc examples of many modules. */
interface Job {
  label: string;
  args: string[];
  /** For the doc job: the gated modules it runs, whose blocks deno must run exactly. */
  gated?: GatedModule[];
}

interface JobResult {
  label: string;
  passed: number;
  failed: number;
  ignored: number;
  code: number;
  output: string;
  seconds: number;
}

const jobs: Job[] = (targets.length ? targets : ["lib", "experiments", "tests"])
  .flatMap((t) => findTests(resolve(ROOT, t)))
  .filter((file) => !optionalOnly || usesProbes(file))
  .sort()
  .map((file) => ({ label: relative(ROOT, file), args: [file] }));

/** Results made without running deno: the doc examples of modules whose requirements are missing. */
const gateResults: JobResult[] = [];

if (!targets.length) {
  const whole: string[] = []; // modules all of whose blocks run
  const wholeGated: GatedModule[] = [];
  const part: string[] = []; // modules some of whose blocks are skipped
  const partGated: GatedModule[] = [];
  const gateLines: string[] = [];
  let gateSkipped = 0;
  let gateFailed = 0;
  for (const file of findModules(join(ROOT, "lib")).sort()) {
    const rel = relative(ROOT, file);
    const examples = docExamples(file, rel);
    if (!examples.some((e) => e.requires.length)) {
      if (!optionalOnly) whole.push(file);
      continue;
    }
    const run: string[] = [];
    for (const e of examples) {
      const missing = e.requires.map(requirement).filter((r) => !r.available);
      if (!missing.length) {
        run.push(e.name);
      } else if (requireAll()) {
        gateFailed++;
        gateLines.push(`@example ${e.name}: ${missing.map(missingError).join("; ")}`);
      } else {
        gateSkipped++;
        gateLines.push(`${SKIP_MARKER} @example ${e.name} — ${missing.map(missingReason).join("; ")}`);
      }
    }
    if (run.length === examples.length) {
      whole.push(file);
      wholeGated.push({ rel, run });
    } else if (run.length) {
      part.push(file);
      partGated.push({ rel, run });
    }
  }
  if (whole.length) {
    jobs.push({ label: "lib/ @example blocks", args: ["--doc", ...whole], gated: wholeGated });
  }
  if (part.length) {
    jobs.push({
      label: "lib/ @example blocks of modules with skipped ones",
      args: ["--doc", "--filter", nameFilter(partGated.flatMap((g) => g.run)), ...part],
      gated: partGated,
    });
  }
  if (gateLines.length) {
    gateResults.push({
      label: "lib/ @example blocks that need a missing package",
      passed: 0,
      failed: gateFailed,
      ignored: gateSkipped,
      code: gateFailed ? 1 : 0,
      output: gateLines.join("\n"),
      seconds: 0,
    });
  }
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Where deno ran other blocks of a gated module than the runner meant to: a message per module, or none. */
function checkGated(gated: GatedModule[], plain: string): string[] {
  const ran = new Set(
    [...plain.matchAll(/running [1-9]\d* tests? from \.\/(\S+?#\d+-\d+)\.\w+/g)].map((m) => m[1]),
  );
  return gated.flatMap((g) => {
    const found = [...g.run].sort();
    const byDeno = [...ran].filter((name) => name.startsWith(`${g.rel}#`)).sort();
    return found.join() === byDeno.join() ? [] : [
      `${g.rel}: deno ran the @example blocks [${byDeno.join(", ")}], tests/run.ts meant to run [${
        found.join(", ")
      }]`,
    ];
  });
}

async function runJob(job: Job): Promise<JobResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check=remote", ...extra, ...job.args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  let output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const plain = output.replace(ANSI, "");
  // "ok | 12 passed (3 steps) | 0 failed | 2 ignored (5s)"
  const m = plain.match(
    /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/,
  );
  const passed = m ? Number(m[1]) : 0;
  let failed = m ? Number(m[2]) : 0;
  if (out.code !== 0 && failed === 0) failed = 1; // crashed, or failed to type-check
  const mismatches = out.code === 0 && job.gated ? checkGated(job.gated, plain) : [];
  if (mismatches.length) {
    failed += mismatches.length;
    output += `\n${mismatches.join("\n")}\n`;
  }
  return {
    label: job.label,
    passed,
    failed,
    ignored: m?.[3] ? Number(m[3]) : 0,
    code: out.code,
    output,
    seconds: (performance.now() - t0) / 1000,
  };
}

function report(r: JobResult): void {
  const status = r.failed ? "FAILED" : r.passed || !r.ignored ? "ok" : "skip";
  console.log(
    `${status.padEnd(6)} ${r.label}: ${r.passed} passed, ${r.failed} failed${
      r.ignored ? `, ${r.ignored} skipped` : ""
    } (${r.seconds.toFixed(1)} s)`,
  );
  if (r.failed || values.verbose) console.log(r.output);
}

if (pretendMissing()) {
  console.log("GANATOMY_PRETEND_MISSING=1: every optional package counts as missing");
}
const results: JobResult[] = [...gateResults];
gateResults.forEach(report);
const parallel = values.jobs;
let next = 0;
await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, async () => {
  while (next < jobs.length) {
    const r = await runJob(jobs[next++]);
    results.push(r);
    report(r);
  }
}));

const total = (k: "passed" | "failed" | "ignored") => results.reduce((a, r) => a + r[k], 0);
/** The distinct lines after `marker` in the outputs. */
const marked = (marker: string) => [
  ...new Set(
    results.flatMap((r) =>
      r.output.replace(ANSI, "").split("\n").filter((l) => l.includes(marker)).map((l) =>
        l.slice(l.indexOf(marker) + marker.length).trim()
      )
    ),
  ),
];
const skipped = marked(SKIP_MARKER);
if (skipped.length) {
  console.log(`\n${skipped.length} test(s) skipped for lack of a system package:`);
  for (const line of skipped) console.log(`  ${line}`);
}
const leftOut = marked(PART_SKIP_MARKER);
if (leftOut.length) {
  console.log(`\n${leftOut.length} check(s) left out of tests that ran, for lack of a system package:`);
  for (const line of leftOut) console.log(`  ${line}`);
}
const failedFiles = results.filter((r) => r.failed).map((r) => r.label);
if (failedFiles.length) console.log(`\nfailed: ${failedFiles.join(", ")}`);
const noSkips = values.expectSkips && !skipped.length && !leftOut.length;
if (noSkips) console.log("\n--expect-skips: nothing was skipped for lack of a system package");
const ignored = total("ignored");
console.log(
  `tests: ${total("passed")} passed, ${total("failed")} failed${ignored ? `, ${ignored} skipped` : ""}`,
);
Deno.exit(failedFiles.length || noSkips ? 1 : 0);
