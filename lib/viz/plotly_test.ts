import { strict as assert } from "node:assert";
import { join } from "node:path";
import { decodePng } from "../io/png.ts";
import { inJupyter } from "./jupyter.ts";
import {
  barFigure,
  describeFigure,
  figureHtml,
  heatmapFigure,
  lineFigure,
  plotlyJsPath,
  saveFigureHtml,
  showFigure,
} from "./plotly.ts";
import { hasChromium, renderFigurePng, saveFigurePng } from "./plotly_png.ts";
import { chromium as chromiumProbe, optionalTest } from "../../tests/optional.ts";

Deno.test("figure builders produce plotly specs", () => {
  const line = lineFigure([{ name: "loss", y: [3, 2, 1], x: [0, 10, 20] }], {
    title: "T",
    xTitle: "step",
    logY: true,
  });
  assert.deepEqual(line.data, [{
    type: "scatter",
    mode: "lines",
    y: [3, 2, 1],
    x: [0, 10, 20],
    name: "loss",
  }]);
  assert.deepEqual(line.layout.title, { text: "T" });
  assert.deepEqual(line.layout.xaxis, { title: { text: "step" } });
  assert.deepEqual(line.layout.yaxis, { type: "log" });
  assert.deepEqual(lineFigure([1, 2]).data[0].y, [1, 2]);
  assert.throws(() => lineFigure([{ y: [1, 2], x: [1] }]), /1 x values and 2 y values/);

  const bars = barFigure(["a", "b"], [{ name: "G1", values: [1, 2] }, { name: "G2", values: [3, 4] }]);
  assert.equal(bars.layout.barmode, "group");
  assert.deepEqual(bars.data[1], { type: "bar", x: ["a", "b"], y: [3, 4], name: "G2" });
  assert.equal(barFigure(["a"], [5], { horizontal: true }).data[0].orientation, "h");
  assert.throws(() => barFigure(["a", "b"], [1]), /2 labels but 1 values/);

  const heat = heatmapFigure([[0, 1], [2, 3]], { x: ["c1", "c2"], colormap: "jet", zmax: 3 });
  assert.equal(heat.data[0].type, "heatmap");
  assert.deepEqual((heat.data[0].colorscale as unknown[])[0], [0, "rgb(0,0,128)"]);
  assert.equal(heat.data[0].zmax, 3);
  assert.throws(() => heatmapFigure([[1, 2], [3]]), /row 0 has 2 values, row 1 has 1/);
  assert.equal(describeFigure(line), '<plotly figure "T": 1 trace(s) (scatter)>');
});

Deno.test("showFigure outside Jupyter explains where it works", async () => {
  assert.equal(inJupyter(), false);
  await assert.rejects(() => showFigure(lineFigure([1])), /showFigure needs the Deno Jupyter kernel/);
});

Deno.test("figure HTML is standalone: plotly inlined, figure embedded, no network URL", async () => {
  const fig = lineFigure([{ name: "a</script><b>", y: [1, 2] }], { title: "Loss & <more>" });
  const html = figureHtml(fig);
  const plotly = await Deno.readTextFile(plotlyJsPath());
  // The library is inlined (its banner and size), the figure is embedded as JSON.
  assert.ok(html.includes("plotly.js v3"));
  assert.ok(html.length > plotly.length);
  assert.ok(html.includes('"y":[1,2]'));
  assert.ok(html.includes("<title>Loss &amp; &lt;more&gt;</title>"));
  // The trace name cannot close the script element early.
  assert.ok(html.includes('"name":"a\\u003c/script>\\u003cb>"'));
  // Outside the inlined library there are no external resources or URLs at all.
  const page = html.replace(plotly, "");
  assert.ok(!/https?:\/\//.test(page), "the page around plotly.js mentions no URL");
  assert.ok(!/<(script|link|img|iframe)[^>]*(src|href)=/i.test(html), "no element loads a resource");

  const root = await Deno.makeTempDir({ prefix: "plotly_test_" });
  try {
    const path = join(root, "fig.html");
    await saveFigureHtml(path, fig);
    assert.equal(await Deno.readTextFile(path), html);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing Chromium gives the install hint", async () => {
  assert.equal(hasChromium("/nonexistent/chromium"), false);
  await assert.rejects(
    () => renderFigurePng(lineFigure([1]), { executablePath: "/nonexistent/chromium" }),
    /Chromium not found at \/nonexistent\/chromium; install Debian's chromium: apt-get install chromium/,
  );
});

const chromium = chromiumProbe();

optionalTest("saveFigurePng renders the figure in headless Chromium", chromium, async () => {
  const root = await Deno.makeTempDir({ prefix: "plotly_test_" });
  try {
    const fig = barFigure(["tree", "grass", "sky"], [5, 3, 8], { title: "Units per concept" });
    const path = join(root, "bars.png");
    await saveFigurePng(path, fig, { width: 400, height: 300 });
    const img = await decodePng(await Deno.readFile(path));
    assert.deepEqual([img.width, img.height], [400, 300]);
    // plotly.js's default first trace colour (#1f77b4) appears, so the bars were drawn.
    let bluish = 0;
    for (let p = 0; p < img.width * img.height; p++) {
      const [r, g, b] = img.data.subarray(p * 3, p * 3 + 3);
      if (Math.abs(r - 0x1f) < 8 && Math.abs(g - 0x77) < 8 && Math.abs(b - 0xb4) < 8) bluish++;
    }
    assert.ok(bluish > 2000, `only ${bluish} bar-coloured pixels`);
    const doubled = await decodePng(await renderFigurePng(fig, { width: 200, height: 150, scale: 2 }));
    assert.deepEqual([doubled.width, doubled.height], [400, 300]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
