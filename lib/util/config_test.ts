import { strict as assert } from "node:assert";
import { parseConfig } from "./config.ts";

Deno.test("parseConfig overrides defaults by type", () => {
  const cfg = parseConfig(
    { steps: 10, backend: "wasm", verbose: false, sizes: [1, 2], names: ["a"] },
    ["--steps", "3", "--verbose", "--sizes", "4,5,6", "--names", "x,y"],
  );
  assert.equal(cfg.steps, 3);
  assert.equal(cfg.backend, "wasm");
  assert.equal(cfg.verbose, true);
  assert.deepEqual(cfg.sizes, [4, 5, 6]);
  assert.deepEqual(cfg.names, ["x", "y"]);
});

Deno.test("parseConfig maps camelCase keys to kebab-case flags", () => {
  assert.equal(parseConfig({ batchSize: 8 }, ["--batch-size", "16"]).batchSize, 16);
});

Deno.test("parseConfig rejects unknown flags and bad numbers with the flag's name", () => {
  assert.throws(() => parseConfig({ steps: 1 }, ["--stpes", "3"]), /stpes/);
  assert.throws(() => parseConfig({ steps: 1 }, ["--steps", "many"]), /--steps expects a number, got "many"/);
});

Deno.test("parseConfig sets and clears booleans", () => {
  const defaults = { figurePng: true, verbose: false };
  assert.equal(parseConfig(defaults, ["--no-figure-png"]).figurePng, false);
  assert.equal(parseConfig(defaults, ["--figure-png=false"]).figurePng, false);
  assert.equal(parseConfig(defaults, ["--verbose=true"]).verbose, true);
  assert.equal(parseConfig(defaults, []).figurePng, true);
});
