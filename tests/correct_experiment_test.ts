/**
 * `deno task exp:correct` end to end at a tiny size, on a snapshot of the shipped scenes generator: every result
 * file is written and well-formed, the table has the paper's rows, and a re-run resumes from the cache.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { isPng, savePng } from "../lib/io/png.ts";
import { readLabels } from "../lib/correct/labels.ts";
import { TABLE_ROWS } from "../lib/correct/table.ts";
import { hasChromium } from "../lib/viz/plotly_png.ts";
import { denoCommand, ROOT } from "./subprocess.ts";

const deno = (...args: string[]) => denoCommand(["run", "-A", ...args]);

Deno.test("exp:correct writes the labels, classifier, scores, table, figures and sweeps; a re-run is cached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-correct-" });
  try {
    const model = join(dir, "scenes_pggan64.safetensors");
    await Deno.copyFile(join(ROOT, "data/models/scenes_pggan64.safetensors"), model);
    const out = join(dir, "results");
    const tiny = [
      ...[
        "--checkpoint",
        model,
        "--label-seeds",
        "160",
        "--threshold-seeds",
        "64",
        "--real-images",
        "60",
        "--fit-artifacts",
        "16",
      ],
      ...["--eval-artifacts", "16", "--fid-seeds", "64", "--fid-top-k", "16", "--real-reference", "100"],
      ...[
        "--stop",
        "2",
        "--sweep-n",
        "0.1",
        "--sweep-lambda",
        "0.5",
        "--sweep-stop",
        "1",
        "--sweep-fit",
        "8",
      ],
      ...["--show", "4", "--batch", "16", "--out", out],
    ];
    const first = await deno("experiments/correct.ts", ...tiny);
    assert.equal(first.code, 0, first.stderr);
    const res = join(out, "scenes");

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
    for (const f of figures) {
      assert.ok((await Deno.stat(join(res, `${f}.html`))).size > 1000, f);
      if (hasChromium()) assert.ok(isPng(await Deno.readFile(join(res, `${f}.png`))), f);
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

    const again = await deno("experiments/correct.ts", ...tiny);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /seq-0\.2-0\.9-2-16: cached/);
    assert.doesNotMatch(again.stderr, /defective scores:/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(res, "table.json"))), table);
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
    const args = [
      ...["--model", join(ROOT, "tests/fixtures/pggan/pggan16_zip.pth"), "--real", real, "--labels", labels],
      ...[
        "--backbone",
        join(ROOT, "tests/fixtures/resnet18/resnet18_tiny.pth"),
        "--real-images",
        "12",
        "--threshold-seeds",
        "32",
      ],
      ...["--real-reference", "12", "--fit-artifacts", "10", "--eval-artifacts", "10", "--fid-seeds", "32"],
      ...["--fid-top-k", "8", "--layer", "layer2", "--stop", "2", "--no-sweeps", "--show", "4", "--out", out],
    ];
    const result = await deno("experiments/correct.ts", ...args);
    assert.equal(result.code, 0, result.stderr);
    const table = JSON.parse(await Deno.readTextFile(join(out, "pggan16_zip", "table.json")));
    assert.equal(table.metric, "FD (resnet18)");
    assert.deepEqual(Object.keys(table.rows), Object.keys(TABLE_ROWS));
    assert.ok(Object.values(table.rows).every((r) => Number.isFinite((r as { fid: number }).fid)));
    assert.equal((await readLabels(join(out, "pggan16_zip", "labels.csv"))).size, 60);

    const missing = await deno(
      "experiments/correct.ts",
      "--model",
      join(ROOT, "tests/fixtures/pggan/pggan16_zip.pth"),
    );
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      /needs --real <folder of real PNGs>, --backbone <resnet18\.pth> and --labels/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
