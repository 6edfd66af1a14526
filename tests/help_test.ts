/**
 * Every command of `deno.json` explains itself: `--help` prints its usage with one described line per flag
 * (exit 0), a usage error prints the problem and that command's usage (exit 2), and no user error prints a
 * stack trace. The errors the newcomer issue lists are each checked here, as the user would see them.
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;
/** Tasks that are not the project's scripts. */
const NOT_OURS = new Set(["check"]);

async function task(
  name: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const words = TASKS[name].split(/\s+/).slice(1); // drop "deno"
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...words, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { GANATOMY_DEBUG: "0" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const STACK = /^\s+at .*(\.ts|\.js|ext:)/m;

for (const name of Object.keys(TASKS).filter((t) => !NOT_OURS.has(t))) {
  Deno.test(`deno task ${name} --help describes every flag; an unknown flag is a usage error`, async () => {
    const help = await task(name, "--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: /, `${name}: ${help.stdout.slice(0, 200)}`);
    const flagLines = help.stdout.split("\n").filter((l) => /^ {2}(--|-h)/.test(l));
    assert.ok(flagLines.length >= 2, `${name}: no flag lines`);
    for (const line of flagLines) {
      // A flag line is `  --flag <meta>   meaning (default …)`, or the flag alone with its meaning on the next.
      const described = /^ {2}\S.*?\s{2,}\S/.test(line) ||
        help.stdout.split("\n")[help.stdout.split("\n").indexOf(line) + 1]?.match(/^\s{4,}\S/);
      assert.ok(described, `${name}: "${line}" has no description`);
      assert.doesNotMatch(line, /\(default: \)/, `${name}: "${line}"`);
    }
    const bad = await task(name, "--no-such-flag");
    assert.equal(bad.code, 2, `${name}: ${bad.stderr}`);
    assert.match(bad.stderr, /^error: unknown flag --no-such-flag/);
    assert.match(bad.stderr, /usage: /);
    assert.doesNotMatch(bad.stderr, STACK);
  });
}

/** Each case: a command line, the one-line error it must give (exit code 2 for usage errors, 1 otherwise). */
const ERRORS: [string, string[], RegExp, number][] = [
  [
    "generate",
    ["--checkpoint", "nonexistent.pth", "--seeds", "0", "--out", "x.png"],
    /--checkpoint: nonexistent\.pth: no such file/,
    2,
  ],
  [
    "generate",
    ["--checkpoint", "deno.json", "--seeds", "-5", "--out", "x.png"],
    /--seeds: "-5" is not a seed/,
    2,
  ],
  ["generate", ["--checkpoint", "deno.json", "--out", "x.png"], /give exactly one of --seeds and --z/, 2],
  [
    "generate",
    ["--checkpoint", "deno.json", "--seeds", "0", "--out", "x.jpg"],
    /--out: must end in \.png or \.safetensors/,
    2,
  ],
  [
    "exp:correct",
    ["--cam", "gradcamm"],
    /--cam must be one of gradcam, gradcam\+\+, scorecam, got "gradcamm"/,
    2,
  ],
  ["exp:correct", ["--model", "nonexistent.pth"], /--model nonexistent\.pth: neither a shipped domain/, 2],
  ["exp:dissect", ["--remove-by", "random"], /--remove-by must be one of causal, iou, ace/, 2],
  ["convert", ["nonexistent.pth", "out.safetensors"], /<in\.pth>: nonexistent\.pth: no such file/, 2],
  ["convert", ["deno.json"], /expected 2 argument/, 2],
  ["label", ["--out", "x.csv", "--port", "70000"], /--port must be at most 65535/, 2],
  [
    "dissect",
    ["--checkpoint", "deno.json", "--segmenter", "deno.json", "--layer", "layer4", "--threshold", "x"],
    /--threshold must be one of quantile, iqr/,
    2,
  ],
];

for (const [name, args, want, code] of ERRORS) {
  Deno.test(`deno task ${name} ${args.join(" ")}: one line naming the input`, async () => {
    const r = await task(name, ...args);
    assert.equal(r.code, code, r.stderr);
    const first = r.stderr.split("\n")[0];
    assert.match(first, /^error: /);
    assert.match(first, want);
    assert.doesNotMatch(r.stderr, STACK);
  });
}

Deno.test("a runtime error is one line without a stack; --debug shows the stack", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fake = join(dir, "text.safetensors");
    await Deno.writeTextFile(fake, "this is not a checkpoint, just some text in a file\n");
    const r = await task("generate", "--checkpoint", fake, "--seeds", "0", "--out", join(dir, "x.png"));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: ${fake.replace(/[.]/g, "\\.")}: not a safetensors file`));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    const d = await task(
      "generate",
      "--checkpoint",
      fake,
      "--seeds",
      "0",
      "--out",
      join(dir, "x.png"),
      "--debug",
    );
    assert.equal(d.code, 1);
    assert.match(d.stderr, STACK);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
