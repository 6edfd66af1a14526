/**
 * The test command: `deno task test`.
 *
 * Runs every `*_test.ts` under `lib/`, `experiments/` and `tests/` (notebooks execute in `tests/notebooks_test.ts`),
 * then repeats what was skipped for lack of a system package and prints one closing line
 * `tests: N passed, N failed` (`, N skipped` when some were). Extra arguments go to `deno test`
 * (e.g. `deno task test --filter upsample`).
 *
 * @module
 */
import { SKIP_MARKER } from "./optional.ts";

const args = ["test", "-A", "--no-check=remote", ...Deno.args];
if (!Deno.args.some((a) => !a.startsWith("-"))) args.push("lib/", "experiments/", "tests/");

const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).spawn();
const decoder = new TextDecoder();
let all = "";
async function pump(stream: ReadableStream<Uint8Array>, out: { write(p: Uint8Array): Promise<number> }) {
  for await (const chunk of stream) {
    all += decoder.decode(chunk, { stream: true });
    await out.write(chunk);
  }
}
await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
const { code } = await child.status;

// deno test's summary: "ok | 12 passed (3 steps) | 0 failed | 2 ignored (5s)"
// deno-lint-ignore no-control-regex
const plain = all.replace(/\x1b\[[0-9;]*m/g, "");
const summary = plain.match(
  /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/,
);
const skipped = [...new Set(plain.split("\n").filter((l) => l.includes(SKIP_MARKER)))];
if (skipped.length) {
  console.log(`\n${skipped.length} test(s) skipped for lack of a system package:`);
  for (const line of skipped) {
    console.log(`  ${line.slice(line.indexOf(SKIP_MARKER) + SKIP_MARKER.length).trim()}`);
  }
}
if (summary) {
  const [, passed, failed, ignored] = summary;
  const failedCount = code !== 0 && failed === "0" ? "1" : failed;
  console.log(
    `tests: ${passed} passed, ${failedCount} failed${
      ignored && ignored !== "0" ? `, ${ignored} skipped` : ""
    }`,
  );
} else {
  console.log(`tests: 0 passed, 1 failed (deno test exited ${code} without a summary)`);
}
Deno.exit(code);
