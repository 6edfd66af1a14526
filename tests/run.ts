/**
 * The test command: `deno task test`.
 *
 * Runs every `*_test.ts` under `lib/`, `experiments/` and `tests/` (notebooks execute in `tests/notebooks_test.ts`),
 * each file in its own `deno test` process: ONNX Runtime's native addon can start only once per process, so files
 * that use it must not share one. The runnable `@example` blocks of every `lib/` module run too (`deno test --doc`),
 * unless paths are given. Two processes run at a time. A file's output is shown when it fails (all of it with
 * `--verbose`). At the end: what was skipped for lack of a system package, and one closing line
 * `tests: N passed, N failed` (`, N skipped` when some were).
 *
 *     deno task test [--verbose] [--jobs 2] [paths or files …] [-- extra deno test flags]
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SKIP_MARKER } from "./optional.ts";

const ROOT = resolve(import.meta.dirname!, "..");
const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { verbose: { type: "boolean", default: false }, jobs: { type: "string", default: "2" } },
  allowPositionals: true,
});
const dashdash = Deno.args.indexOf("--");
const extra = dashdash >= 0 ? Deno.args.slice(dashdash + 1) : [];
const targets = dashdash >= 0 ? positionals.slice(0, positionals.length - extra.length) : positionals;

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

/** One `deno test` process: a test file, or the doc examples of many modules. */
interface Job {
  label: string;
  args: string[];
}

const jobs: Job[] = (targets.length ? targets : ["lib", "experiments", "tests"])
  .flatMap((t) => findTests(resolve(ROOT, t)))
  .sort()
  .map((file) => ({ label: relative(ROOT, file), args: [file] }));
if (!targets.length) {
  jobs.push({ label: "lib/ @example blocks", args: ["--doc", ...findModules(join(ROOT, "lib")).sort()] });
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

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

async function runJob(job: Job): Promise<JobResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check=remote", ...extra, ...job.args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const plain = output.replace(ANSI, "");
  // "ok | 12 passed (3 steps) | 0 failed | 2 ignored (5s)"
  const m = plain.match(
    /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/,
  );
  const passed = m ? Number(m[1]) : 0;
  let failed = m ? Number(m[2]) : 0;
  if (out.code !== 0 && failed === 0) failed = 1; // crashed, or failed to type-check
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

const parallel = Math.max(1, Number(values.jobs));
const results: JobResult[] = [];
let next = 0;
await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, async () => {
  while (next < jobs.length) {
    const r = await runJob(jobs[next++]);
    results.push(r);
    const status = r.failed ? "FAILED" : "ok";
    console.log(
      `${status.padEnd(6)} ${r.label}: ${r.passed} passed, ${r.failed} failed${
        r.ignored ? `, ${r.ignored} skipped` : ""
      } (${r.seconds.toFixed(1)} s)`,
    );
    if (r.failed || values.verbose) console.log(r.output);
  }
}));

const total = (k: "passed" | "failed" | "ignored") => results.reduce((a, r) => a + r[k], 0);
const skipped = [
  ...new Set(
    results.flatMap((r) => r.output.replace(ANSI, "").split("\n").filter((l) => l.includes(SKIP_MARKER))),
  ),
];
if (skipped.length) {
  console.log(`\n${skipped.length} test(s) skipped for lack of a system package:`);
  for (const line of skipped) {
    console.log(`  ${line.slice(line.indexOf(SKIP_MARKER) + SKIP_MARKER.length).trim()}`);
  }
}
const failedFiles = results.filter((r) => r.failed).map((r) => r.label);
if (failedFiles.length) console.log(`\nfailed: ${failedFiles.join(", ")}`);
const ignored = total("ignored");
console.log(
  `tests: ${total("passed")} passed, ${total("failed")} failed${ignored ? `, ${ignored} skipped` : ""}`,
);
Deno.exit(failedFiles.length ? 1 : 0);
