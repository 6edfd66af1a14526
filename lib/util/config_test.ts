import { strict as assert } from "node:assert";
import { type CommandInfo, defaults, HelpRequested, parseConfig, usage, UsageError } from "./config.ts";
import { seedsCheck } from "./flags.ts";

const INFO: CommandInfo = { command: "deno task x", summary: "Do x." };

Deno.test("parseConfig overrides defaults by type", () => {
  const cfg = parseConfig(
    {
      steps: { default: 10, help: "steps" },
      backend: { default: "wasm", help: "backend" },
      verbose: { default: false, help: "talk" },
      sizes: { default: [1, 2], help: "sizes" },
      names: { default: ["a"], help: "names" },
      empty: { default: [] as number[], help: "numbers", items: "number" as const },
    },
    ["--steps", "3", "--verbose", "--sizes", "4,5,6", "--names=x,y", "--empty", "7"],
    INFO,
  );
  assert.equal(cfg.steps, 3);
  assert.equal(cfg.backend, "wasm");
  assert.equal(cfg.verbose, true);
  assert.deepEqual(cfg.sizes, [4, 5, 6]);
  assert.deepEqual(cfg.names, ["x", "y"]);
  assert.deepEqual(cfg.empty, [7]);
});

Deno.test("parseConfig maps camelCase keys to kebab-case flags", () => {
  assert.equal(
    parseConfig({ batchSize: { default: 8, help: "b" } }, ["--batch-size", "16"], INFO).batchSize,
    16,
  );
});

Deno.test("parseConfig rejects unknown flags and bad values with the flag's name, as usage errors", () => {
  const spec = { steps: { default: 1, help: "s", integer: true, min: 1, max: 9 } };
  const usageError = (args: string[], re: RegExp) =>
    assert.throws(
      () => parseConfig(spec, args, INFO),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  usageError(["--stpes", "3"], /unknown flag --stpes \(did you mean --steps\?\)/);
  usageError(["--steps", "many"], /--steps expects a number, got "many"/);
  usageError(["--steps", "2.5"], /--steps expects a whole number/);
  usageError(["--steps", "0"], /--steps must be at least 1, got 0/);
  usageError(["--steps", "10"], /--steps must be at most 9/);
  usageError(["--steps"], /--steps needs a value/);
  usageError(["-x"], /unknown option "-x"/);
  usageError(["extra"], /unexpected argument "extra"/);
});

Deno.test("parseConfig checks choices, required flags, files and custom checks before any work", () => {
  const spec = {
    cam: { default: "gradcam", help: "cam", choices: ["gradcam", "scorecam"] },
    out: { default: "", help: "where", required: true },
    input: { default: "", help: "file", exists: true },
    seeds: { default: "0-3", help: "seeds", check: seedsCheck },
  };
  assert.throws(
    () => parseConfig(spec, ["--cam", "gradcamm", "--out", "o"], INFO),
    /--cam must be one of gradcam, scorecam, got "gradcamm" \(did you mean gradcam\?\)/,
  );
  assert.throws(() => parseConfig(spec, [], INFO), /--out is required/);
  assert.throws(
    () => parseConfig(spec, ["--out", "o", "--input", "nonexistent.pth"], INFO),
    /--input: nonexistent\.pth: no such file/,
  );
  // A negative number is a value, not a flag: the seed check says what is wrong with it.
  assert.throws(
    () => parseConfig(spec, ["--out", "o", "--seeds", "-5"], INFO),
    /--seeds: "-5" is not a seed/,
  );
});

Deno.test("parseConfig sets and clears booleans", () => {
  const spec = { figurePng: { default: true, help: "png" }, verbose: { default: false, help: "v" } };
  assert.equal(parseConfig(spec, ["--no-figure-png"], INFO).figurePng, false);
  assert.equal(parseConfig(spec, ["--figure-png=false"], INFO).figurePng, false);
  assert.equal(parseConfig(spec, ["--verbose=true"], INFO).verbose, true);
  assert.equal(parseConfig(spec, [], INFO).figurePng, true);
  assert.throws(() => parseConfig(spec, ["--verbose=yes"], INFO), /--verbose is on or off/);
});

Deno.test("parseConfig counts positionals and runs the command's own validation", () => {
  const info: CommandInfo = {
    ...INFO,
    positionals: [{ name: "a", help: "first" }, { name: "b", help: "second" }],
    validate: (c) => c._[0] === c._[1] ? "<a> and <b> are the same" : undefined,
  };
  assert.deepEqual(parseConfig({}, ["x", "y"], info)._, ["x", "y"]);
  assert.throws(() => parseConfig({}, ["x"], info), /expected 2 argument\(s\) \(<a> <b>\), got 1/);
  assert.throws(() => parseConfig({}, ["x", "x"], info), /<a> and <b> are the same/);
  assert.deepEqual(parseConfig({}, ["--", "-x", "y"], info)._, ["-x", "y"]);
});

Deno.test("--help gives the command's usage: one line per flag with its meaning, default and choices", () => {
  const spec = {
    checkpoint: { default: "", help: "generator checkpoint", required: true, meta: "<file>" },
    engine: { default: "ort", help: "forward engine", choices: ["ort", "tfjs"] },
    figurePng: { default: true, help: "render PNGs" },
    batch: { default: 8, help: "images per pass", integer: true, min: 1 },
  };
  const err = (() => {
    try {
      parseConfig(spec, ["-h"], INFO);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof HelpRequested);
  const text = usage(spec, INFO);
  assert.equal(err.usage, text);
  assert.match(text, /^usage: deno task x --checkpoint <file> \[flags\]/);
  assert.match(text, /--checkpoint <file> +generator checkpoint \(required\)/);
  assert.match(text, /--engine <ort\|tfjs> +forward engine \(default: ort\)/);
  assert.match(text, /--no-figure-png +render PNGs \(on by default/);
  assert.match(text, /--batch <n> +images per pass \(default: 8; ≥ 1\)/);
});

Deno.test("defaults gives a spec's plain values", () => {
  const d = defaults({ n: { default: 3, help: "n" }, xs: { default: [1], help: "xs" } });
  assert.deepEqual({ ...d }, { n: 3, xs: [1], _: [] });
});
