/**
 * `deno task demo --quick` end to end on a snapshot of the shipped scenes generator (it is re-exported while it
 * trains): REPORT.md covers both parts, every image it links is a PNG, and the summary table is printed.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { isPng } from "../lib/io/png.ts";
import { chromium, optionalCheck } from "./optional.ts";
import { denoCommand, ROOT } from "./subprocess.ts";

const task = (...args: string[]) => denoCommand(["task", "--quiet", ...args]);

const DEMO = "deno task demo --quick writes REPORT.md with both parts and its figures, and prints a summary";

Deno.test(DEMO, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-demo-" });
  try {
    const model = join(dir, "scenes_pggan64.safetensors");
    await Deno.copyFile(join(ROOT, "data/models/scenes_pggan64.safetensors"), model);
    const out = join(dir, "results");
    const r = await task("demo", "--quick", "--checkpoint", model, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    // Progress of both experiments reached stderr.
    assert.match(r.stderr, /\[demo\] 1\/2 done/);
    assert.match(r.stderr, /\[correct\] done/);

    const report = await Deno.readTextFile(join(out, "REPORT.md"));
    assert.match(report, /## GAN Dissection of `layer4`/);
    assert.match(report, /## Correction of artifact units/);
    assert.match(report, /### Removing trees/);
    assert.match(report, /### Inserting doors/);
    assert.match(report, /held-out accuracy \*\*\d+\.\d%\*\*/);
    assert.match(report, /\| Seq\. Corr\. \(layer1…layer2/);
    assert.match(report, /git `[0-9a-f]{12}(-dirty)?`|git `unknown`/);

    const images = [...report.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    const expected = [
      "samples_scenes_pggan64.png",
      "samples_fashion_pggan32.png",
      "dissection/scenes_pggan64/layer4/top_units.png",
      "dissection/scenes_pggan64/remove_trees.png",
      "dissection/scenes_pggan64/insert_doors.png",
      "correction/scenes/labels.png",
      "correction/scenes/gradcam.png",
      "correction/scenes/corrected.png",
      "correction/scenes/failures.png",
      ...(optionalCheck(DEMO, "the plotly figures as PNG", chromium())
        ? ["dissection/scenes_pggan64/layer4/unit_classes.png", "correction/scenes/ds1_per_layer.png"]
        : []),
    ];
    for (const path of expected) assert.ok(images.includes(path), `REPORT.md links ${path}`);
    for (const path of images) {
      assert.ok(!path.startsWith("/"), `${path} is relative`);
      assert.ok(isPng(await Deno.readFile(join(out, path))), `${path} is a PNG`);
    }

    // The summary on stdout: every method's FD and realism, and the tree removal.
    for (const method of ["None", "Random", "FID-based", "DS \\(1\\)", "DS \\(2\\)", "Seq\\. Corr\\."]) {
      assert.match(r.stdout, new RegExp(`^${method}.*\\s\\d+\\.\\d{3}\\s+-?\\d+\\.\\d{3}$`, "m"), method);
    }
    assert.match(r.stdout, /FD \(scenes-net\) ↓\s+realism ↑/);
    assert.match(
      r.stdout,
      /tree removal \(4 units of layer4, 16 held-out samples\): tree pixels [\d.]+% → [\d.]+%/,
    );

    const meta = JSON.parse(await Deno.readTextFile(join(out, "meta.json")));
    assert.equal(meta.experiment, "demo");
    assert.equal(meta.config.quick, true);
    assert.ok(meta.timings.dissection > 0 && meta.timings.correction > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task demo --help lists its flags", async () => {
  const r = await task("demo", "--help");
  assert.equal(r.code, 0, r.stderr);
  for (const flag of ["--checkpoint", "--out", "--quick", "--backend", "--engine"]) {
    assert.ok(`${r.stdout}${r.stderr}`.includes(flag), flag);
  }
});
