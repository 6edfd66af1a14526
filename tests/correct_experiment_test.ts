/**
 * `deno task exp:correct` end to end at a tiny size, on a snapshot of the shipped scenes generator: every result
 * file is written and well-formed, the table has the paper's rows, and a re-run resumes from the cache.
 *
 * The experiment runs in this process (`run` of experiments/correct.ts with `defaults(CONFIG)` and overrides);
 * only `deno task generate --correction` runs as a user would, as a command. ONNX Runtime starts once per
 * process, and `tests/run.ts` gives each test file its own.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { isPng, savePng } from "../lib/io/png.ts";
import { readLabels } from "../lib/correct/labels.ts";
import { TABLE_ROWS } from "../lib/correct/table.ts";
import { type Config, defaults } from "../lib/util/config.ts";
import { CONFIG, run } from "../experiments/correct.ts";
import { chromium, optionalCheck } from "./optional.ts";
import { denoCommand, ROOT } from "./subprocess.ts";

const deno = (...args: string[]) => denoCommand(["run", "-A", ...args]);

// As the commands of tests/subprocess.ts: from the project's root, one thread (tests run two at a time).
Deno.chdir(ROOT);
Deno.env.set("GANATOMY_THREADS", "1");

/** Run the experiment in-process with `overrides` of the defaults; returns its result and progress lines. */
async function correct(overrides: Partial<Config<typeof CONFIG>>) {
  const lines: string[] = [];
  const result = await run({ ...defaults(CONFIG), ...overrides }, { log: (line) => lines.push(line) });
  return { ...result, lines };
}

const EXP =
  "exp:correct writes the labels, classifier, scores, table, figures and sweeps; a re-run is cached";

Deno.test(EXP, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-correct-" });
  try {
    const model = join(dir, "scenes_pggan64.safetensors");
    await Deno.copyFile(join(ROOT, "data/models/scenes_pggan64.safetensors"), model);
    const out = join(dir, "results");
    const tiny = {
      checkpoint: model,
      labelSeeds: 160,
      thresholdSeeds: 64,
      realImages: 60,
      fitArtifacts: 16,
      evalArtifacts: 16,
      fidSeeds: 64,
      fidTopK: 16,
      realReference: 100,
      stop: 2,
      sweepN: [0.1],
      sweepLambda: [0.5],
      sweepStop: [1],
      sweepFit: 8,
      show: 4,
      batch: 16,
      out,
    };
    const first = await correct(tiny);
    const res = join(out, "scenes");
    assert.equal(first.out, res);

    const labels = await readLabels(join(res, "labels.csv"));
    assert.equal(labels.size, 160);
    assert.ok([...labels.values()].every((l) => l.source.startsWith("auto:defect-fraction=")));
    const classifier = JSON.parse(await Deno.readTextFile(join(res, "classifier.json")));
    assert.equal(
      classifier.heldout.confusion.flat().reduce((a: number, b: number) => a + b, 0),
      classifier.heldout.count,
    );
    assert.ok(classifier.heldout.accuracy >= 0 && classifier.heldout.accuracy <= 1);
    const camIou = JSON.parse(await Deno.readTextFile(join(res, "cam_iou.json")));
    assert.deepEqual(Object.keys(camIou), ["gradcam", "gradcam++", "scorecam"]);
    const scores = JSON.parse(await Deno.readTextFile(join(res, "scores.json")));
    assert.deepEqual(Object.keys(scores), ["layer1", "layer2", "layer4"]);
    assert.equal(scores.layer4.ds1.length, 128);
    assert.ok(scores.layer4.ds1.every((v: number) => v >= 0 && v <= 1));

    const table = JSON.parse(await Deno.readTextFile(join(res, "table.json")));
    assert.deepEqual(first.table, table);
    assert.equal(table.metric, "FD (scenes-net)");
    assert.deepEqual(Object.keys(table.rows), Object.keys(TABLE_ROWS));
    for (const row of Object.values(table.rows) as Record<string, number>[]) {
      assert.ok(row.fid > 0 && Number.isFinite(row.realism), JSON.stringify(row));
      assert.ok(
        row.p_artifact >= 0 && row.p_artifact <= 1 && row.defect_fraction >= 0 && row.defect_fraction <= 1,
      );
    }
    assert.match(await Deno.readTextFile(join(res, "table.md")), /\| Seq\. Corr\./);
    assert.match(await Deno.readTextFile(join(out, "table.md")), /scenes: FD \(scenes-net\)/);
    const sweeps = JSON.parse(await Deno.readTextFile(join(res, "sweeps.json")));
    assert.deepEqual(Object.keys(sweeps.sweeps), ["n", "lambda", "stop"]);
    for (const f of ["labels.png", "gradcam.png", "corrected.png", "failures.png"]) {
      assert.ok(isPng(await Deno.readFile(join(res, f))), `${f} is a PNG`);
    }
    const figures = ["ds1_per_layer", "ds2_per_layer", "sweep_n", "sweep_lambda", "sweep_stop"];
    const png = optionalCheck(EXP, "the plotly figures as PNG", chromium());
    for (const f of figures) {
      assert.ok((await Deno.stat(join(res, `${f}.html`))).size > 1000, f);
      if (png) assert.ok(isPng(await Deno.readFile(join(res, `${f}.png`))), f);
    }
    // The saved correction samples the corrected generator through the CLI.
    const grid = join(dir, "corrected.png");
    const generated = await deno(
      "lib/cli.ts",
      ...[
        "generate",
        "--checkpoint",
        model,
        "--correction",
        join(res, "correction.json"),
        "--seeds",
        "0-3",
        "--out",
        grid,
      ],
    );
    assert.equal(generated.code, 0, generated.stderr);
    assert.ok(isPng(await Deno.readFile(grid)));
    const meta = JSON.parse(await Deno.readTextFile(join(res, "meta.json")));
    assert.equal(meta.experiment, "correct");
    assert.equal(first.meta, join(res, "meta.json"));

    const again = await correct(tiny);
    assert.ok(again.lines.includes("seq-0.2-0.9-2-16: cached"), again.lines.join("\n"));
    // Every step of the first run is read back: no defective scores (nor anything else) computed again.
    const steps = Object.keys(meta.timings).filter((t) => !["load", "real reference", "figures"].includes(t));
    assert.ok(steps.includes("scores-layer4") && steps.includes("eval-seq-0.1-0.9-2-8"), steps.join());
    for (const step of steps) assert.ok(again.lines.includes(`${step}: cached`), `${step} is cached`);
    const metaAgain = JSON.parse(await Deno.readTextFile(join(res, "meta.json")));
    assert.deepEqual(Object.keys(metaAgain.timings).filter((t) => t.startsWith("scores-")), []);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(res, "table.json"))), table);
    assert.deepEqual(again.table, table);
    // A changed option is a new key: the steps that read it run again, the others are read back.
    const changed = await correct({ ...tiny, fidTopK: 8 });
    const unchanged = ["labels", "classifier", "scores-layer4", "seq-0.2-0.9-2-16", "eval-none", "eval-seq"];
    for (const step of unchanged) assert.ok(changed.lines.includes(`${step}: cached`), `${step} is cached`);
    assert.ok(!changed.lines.includes("fid-based: cached"), "the FID-based scores read --fid-top-k");
    assert.deepEqual(changed.table.rows.ds1, table.rows.ds1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exp:correct runs a user checkpoint with real PNGs, a ResNet-18 backbone and a label file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-correct-custom-" });
  try {
    const real = join(dir, "real");
    await Deno.mkdir(real);
    for (let i = 0; i < 24; i++) {
      const data = Uint8Array.from({ length: 20 * 20 * 3 }, (_, j) => (i * 37 + j * 11) % 256);
      await savePng(join(real, `${String(i).padStart(3, "0")}.png`), {
        data,
        height: 20,
        width: 20,
        channels: 3,
      });
    }
    const labels = join(dir, "labels.csv");
    const rows = Array.from({ length: 60 }, (_, s) => `${s},${s % 2 ? "artifact" : "normal"},manual`);
    await Deno.writeTextFile(labels, ["seed,label,source", ...rows].join("\n") + "\n");
    const out = join(dir, "results");
    const model = join(ROOT, "tests/fixtures/pggan/pggan16_zip.pth");
    const backbone = join(ROOT, "tests/fixtures/resnet18/resnet18_tiny.pth");
    const result = await correct({
      model,
      real,
      labels,
      backbone,
      realImages: 12,
      thresholdSeeds: 32,
      realReference: 12,
      fitArtifacts: 10,
      evalArtifacts: 10,
      fidSeeds: 32,
      fidTopK: 8,
      layer: "layer2",
      stop: 2,
      sweeps: false,
      show: 4,
      out,
    });
    assert.equal(result.out, join(out, "pggan16_zip"));
    const table = JSON.parse(await Deno.readTextFile(join(out, "pggan16_zip", "table.json")));
    assert.equal(table.metric, "FD (resnet18)");
    assert.deepEqual(Object.keys(table.rows), Object.keys(TABLE_ROWS));
    assert.ok(Object.values(table.rows).every((r) => Number.isFinite((r as { fid: number }).fid)));
    assert.equal((await readLabels(join(out, "pggan16_zip", "labels.csv"))).size, 60);

    const elsewhere = join(dir, "not-run");
    await assert.rejects(
      correct({ model, out: elsewhere }),
      /needs --real <folder of real PNGs>, --backbone <resnet18\.pth> and --labels/,
    );
    // The checks that need the model come before any step: nothing is written.
    await assert.rejects(
      correct({ model, real, labels, backbone, layer: "layer2", stop: 9, out: elsewhere }),
      /--stop\/--sweep-stop: pggan16_zip's generator has 6 layers, got 9/,
    );
    await assert.rejects(
      correct({ model, real, labels, backbone, layer: "layer7", out: elsewhere }),
      /--layer layer7: pggan16_zip's generator has layer1 … layer6/,
    );
    await assert.rejects(Deno.stat(elsewhere), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
