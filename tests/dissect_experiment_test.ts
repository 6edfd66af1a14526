/**
 * `deno task exp:dissect` (its `run`, in-process) and `deno task dissect` (a subprocess) end to end at a tiny
 * size, on a snapshot of the shipped scenes generator (it is re-exported while it trains): every result file is
 * written and well-formed, the numbers are fractions, and a re-run reuses the cached dissection.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { CONFIG, run } from "../experiments/dissect.ts";
import { isPng } from "../lib/io/png.ts";
import { defaults } from "../lib/util/config.ts";
import { chromium, optionalCheck } from "./optional.ts";
import { denoCommand, ROOT } from "./subprocess.ts";

const SEGMENTER = join(ROOT, "data/models/scenes_segmenter.safetensors");

const deno = (...args: string[]) => denoCommand(["run", "-A", ...args]);

// One tfjs thread, as the subprocesses of denoCommand have (tests run two at a time).
if (Deno.env.get("GANATOMY_THREADS") === undefined) Deno.env.set("GANATOMY_THREADS", "1");

/** Run `fn` with what is written to stderr (progress lines, `console.error`) collected and returned. */
async function stderrOf(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const [writeSync, error] = [Deno.stderr.writeSync, console.error];
  Deno.stderr.writeSync = (p: Uint8Array) => (lines.push(new TextDecoder().decode(p)), p.length);
  console.error = (...args: unknown[]) => lines.push(`${args.join(" ")}\n`);
  try {
    await fn();
  } finally {
    [Deno.stderr.writeSync, console.error] = [writeSync, error];
  }
  return lines.join("");
}

/** A copy of the shipped generator in `dir`, so that its weights cannot change during the test. */
async function snapshotModel(dir: string): Promise<string> {
  const path = join(dir, "scenes_pggan64.safetensors");
  await Deno.copyFile(join(ROOT, "data/models/scenes_pggan64.safetensors"), path);
  return path;
}

const isFraction = (v: unknown) => typeof v === "number" && v >= 0 && v <= 1;
const isDifference = (v: unknown) => typeof v === "number" && v >= -1 && v <= 1;

const EXP = "exp:dissect writes every result at a tiny size, and a re-run reuses the dissection";

Deno.test(EXP, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-dissect-" });
  try {
    const model = await snapshotModel(dir);
    const out = join(dir, "results");
    const tiny = {
      ...defaults(CONFIG),
      ...{ model, segmenter: SEGMENTER, layers: ["layer4"], samples: 16, batch: 8 },
      ...{ heldout: 8, aceSamples: 2, aceCandidates: 4, meansSamples: 16 },
      ...{ removeUnits: [0, 2, 4], curveUnits: [1, 2], insertUnits: 4, show: 4 },
      ...{ causalSamples: 4, causalEpochs: 1, topImages: 3, out },
    };
    const first = await run(tiny);
    const res = join(out, "scenes_pggan64");
    assert.equal(first.out, res);
    const png = optionalCheck(EXP, "the plotly figures as PNG", chromium());

    const units = JSON.parse(await Deno.readTextFile(join(res, "layer4/units.json")));
    assert.equal(units.layer, "layer4");
    assert.equal(units.samples, 16);
    assert.equal(units.units.length, 128);
    for (const u of units.units) {
      assert.ok(units.concepts.includes(u.concept), u.concept);
      assert.ok(isFraction(u.iou) && Number.isFinite(u.threshold), JSON.stringify(u));
      assert.ok(u.top_images.length === 16 && u.top_images.every((s: number) => s >= 0 && s < 16));
    }
    const pngs = ["layer4/top_units.png", "remove_trees.png", "insert_doors.png"];
    const figures = ["layer4/unit_classes", "layers", "ace_vs_iou"];
    for (const f of figures) assert.ok((await Deno.stat(join(res, `${f}.html`))).size > 1000, f);
    for (const f of [...pngs, ...(png ? figures.map((f) => `${f}.png`) : [])]) {
      assert.ok(isPng(await Deno.readFile(join(res, f))), `${f} is a PNG`);
    }

    const iv = JSON.parse(await Deno.readTextFile(join(res, "interventions.json")));
    const tree = iv.removal.tree;
    // The intervention layers are dissected too: doors are inserted on layer6; trees are removed on layer4 by the
    // optimised causal set.
    assert.equal((JSON.parse(await Deno.readTextFile(join(res, "layer6/units.json")))).units.length, 64);
    assert.deepEqual([tree.layer, tree.ranking, tree.units], ["layer4", "causal", 4]);
    assert.equal(tree.samples, 8);
    for (const v of [tree.before, tree.after, tree.others_relabelled]) assert.ok(isFraction(v), `${v}`);
    for (const v of [...Object.values(tree.others_before), ...Object.values(tree.others_after)]) {
      assert.ok(isFraction(v));
    }
    assert.equal(Object.keys(tree.others_before).length, 10); // every scene class but the tree
    assert.deepEqual(tree.by_units.map((s: { units: number }) => s.units), [0, 2, 4]);
    assert.equal(tree.by_units[0].fraction, tree.before);
    assert.ok(isDifference(tree.ace.ace));
    assert.equal(tree.random_control.unit_ids.length, 4);
    assert.ok(isFraction(tree.random_control.after) && isFraction(tree.random_control.others_relabelled));
    const door = iv.insertion.door;
    assert.ok("on_building" in door && "in_sky" in door);
    for (const place of ["on_building", "in_sky"]) {
      const detail = door.detail[place];
      // A place's number is measured over the held-out images whose box is mostly wall (sky); null if none is.
      assert.equal(door[place] === null, detail.samples === 0);
      if (door[place] !== null) assert.ok(isDifference(door[place]));
    }
    assert.deepEqual(iv.ace_vs_iou.units, [1, 2]);
    assert.ok(
      ["iou", "ace", "causal"].flatMap((r) => iv.ace_vs_iou[`removed_by_${r}_ranking`]).every(isDifference),
    );
    assert.equal(iv.ace_vs_iou.ace_ranking.length, 4);
    assert.equal(iv.ace_vs_iou.causal_ranking.length, 20);
    assert.ok(iv.ace_vs_iou.causal_ranking.every((r: { alpha: number }) => isFraction(r.alpha)));

    const meta = JSON.parse(await Deno.readTextFile(join(res, "meta.json")));
    assert.equal(meta.experiment, "dissect");
    assert.ok(meta.timings["dissect layer4"] > 0);
    assert.ok(meta.seconds_per_sample["dissect layer4"] > 0);
    const cached = [...Deno.readDirSync(join(res, "cache"))].map((e) => e.name);
    assert.ok(
      cached.some((n) => n.startsWith("layer4-summary")) && cached.some((n) => n.startsWith("layer4-counts")),
    );

    assert.deepEqual(first.summary.removal, { tree: { units: 4, before: tree.before, after: tree.after } });

    // The same dissection again: read from the cache (no pass over the samples), same units.json.
    const second = await stderrOf(() => run({ ...tiny, interventions: false, figurePng: false }));
    assert.doesNotMatch(second, /layer4 (quantiles|counts)/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(res, "layer4/units.json"))), units);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const CLI = "deno task dissect: one layer's units.json and unit-class figure; clear usage errors";

Deno.test(CLI, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-dissect-cli-" });
  try {
    const model = await snapshotModel(dir);
    const out = join(dir, "layer6");
    const r = await deno(
      "lib/cli.ts",
      ...["dissect", "--checkpoint", model, "--segmenter", SEGMENTER, "--layer", "layer6"],
      ...["--samples", "8", "--batch", "8", "--out", out],
    );
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.units, 64);
    const units = JSON.parse(await Deno.readTextFile(join(out, "units.json")));
    assert.equal(units.layer, "layer6");
    assert.equal(units.units.length, 64);
    assert.ok((await Deno.stat(join(out, "unit_classes.html"))).isFile);
    if (optionalCheck(CLI, "unit_classes.png", chromium())) {
      assert.ok(isPng(await Deno.readFile(join(out, "unit_classes.png"))));
    }

    const missing = await deno("lib/cli.ts", "dissect", "--checkpoint", model);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: --segmenter is required/);
    const badLayer = await deno(
      "lib/cli.ts",
      ...["dissect", "--checkpoint", model, "--segmenter", SEGMENTER, "--layer", "layer99"],
    );
    assert.equal(badLayer.code, 1);
    assert.match(badLayer.stderr, /no stage "layer99"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
