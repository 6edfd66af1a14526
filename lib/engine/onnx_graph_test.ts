import { strict as assert } from "node:assert";
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import { randomPggan } from "../models/pggan.ts";
import {
  buildOnnxModel,
  type EditFields,
  editInputName,
  GRAPH_INPUT,
  GRAPH_OUTPUT,
  graphKey,
  ONNX_OPSET,
  traceOutputName,
} from "./onnx_graph.ts";

const { ModelProto } = onnxProto.onnx;
// Stages: layer1 4x4x16, layer2 4x4x16, layer3/4 8x8x8, layer5/6 16x16x8, output_16x16.
const model = randomPggan([16, 16, 8, 8], { seed: 1, biasStd: 0.1 });
const AV: EditFields = { a: true, v: true, scale: false, mask: false };

/** The parts of a built model the tests look at (decoded protobuf fields are all optional). */
function decode(bytes: Uint8Array) {
  const m = ModelProto.decode(bytes);
  const graph = m.graph!;
  const dims = (v: onnx.IValueInfoProto) =>
    v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  const attrs = (n: onnx.INodeProto) =>
    Object.fromEntries((n.attribute ?? []).map((a) => [a.name!, a.s ? new TextDecoder().decode(a.s) : a.i]));
  return {
    opset: Number(m.opsetImport[0].version),
    ops: graph.node!.map((n) => n.opType!),
    attrs: graph.node!.map(attrs),
    inputs: Object.fromEntries(graph.input!.map((v) => [v.name!, dims(v)])),
    outputs: Object.fromEntries(graph.output!.map((v) => [v.name!, dims(v)])),
    initializers: new Map(
      graph.initializer!.map((t) => [t.name!, { dims: t.dims!.map(Number), data: t.rawData! }]),
    ),
  };
}

Deno.test("onnx graph: the plain forward pass in NCHW, NHWC at the borders", () => {
  const g = decode(buildOnnxModel(model));
  assert.equal(g.opset, ONNX_OPSET);
  assert.deepEqual(g.inputs, { [GRAPH_INPUT]: ["N", 16] });
  assert.deepEqual(g.outputs, { [GRAPH_OUTPUT]: ["N", 16, 16, 3] });
  assert.equal(g.ops[0], "Reshape");
  assert.equal(g.ops.at(-1), "Transpose");
  assert.equal(g.ops.filter((op) => op === "Conv").length, 7);
  assert.equal(g.ops.filter((op) => op === "LeakyRelu").length, 6);
  assert.equal(g.ops.filter((op) => op === "ReduceMean").length, 7);
  const resize = g.attrs.filter((_, i) => g.ops[i] === "Resize");
  assert.equal(resize.length, 2);
  assert.deepEqual(resize[0], {
    mode: "nearest",
    coordinate_transformation_mode: "asymmetric",
    nearest_mode: "floor",
  });
});

Deno.test("onnx graph: conv weights are written OIHW with the op scale folded in", () => {
  const scaled = structuredClone(model);
  const conv = scaled.stages[2].ops.find((op) => op.kind === "conv2d")!;
  if (conv.kind === "conv2d") conv.scale = 0.5;
  const g = decode(buildOnnxModel(scaled, { from: "layer2", to: "layer3" }));
  const hwio = model.weights["layer3.conv.weight"]; // [3, 3, 16, 8]
  const w = g.initializers.get("layer3.conv.weight*0.5")!;
  assert.deepEqual(w.dims, [8, 16, 3, 3]);
  const oihw = new Float32Array(new Uint8Array(w.data).buffer);
  const [h, x, i, o] = [2, 1, 5, 7];
  assert.equal(
    oihw[((o * 16 + i) * 3 + h) * 3 + x],
    Math.fround(hwio.data[((h * 3 + x) * 16 + i) * 8 + o] * 0.5),
  );
  // Only the weights of the stages that run are included.
  assert.deepEqual([...g.initializers.keys()].filter((k) => k.startsWith("layer")).sort(), [
    "layer3.conv.weight*0.5",
    "layer3.wscale.b",
  ]);
  assert.deepEqual(g.inputs, { [GRAPH_INPUT]: ["N", 4, 4, 16] });
  assert.deepEqual(g.outputs, { [GRAPH_OUTPUT]: ["N", 8, 8, 8] });
});

Deno.test("onnx graph: edits and traces become graph inputs and outputs", () => {
  const edits = {
    layer2: { a: true, v: true, scale: true, mask: true },
    layer5: { a: false, v: false, scale: true, mask: false },
  };
  const g = decode(buildOnnxModel(model, { trace: ["layer5", "layer2"], edits, clamp: true }));
  assert.deepEqual(g.inputs, {
    [GRAPH_INPUT]: ["N", 16],
    [editInputName("layer2", "a")]: [1, 16, 1, 1],
    [editInputName("layer2", "mask")]: ["mask_n:layer2", 1, 4, 4],
    [editInputName("layer2", "v")]: [1, 16, 1, 1],
    [editInputName("layer2", "scale")]: [1, 16, 1, 1],
    [editInputName("layer5", "scale")]: [1, 8, 1, 1],
  });
  assert.deepEqual(g.outputs, {
    [traceOutputName("layer2")]: ["N", 4, 4, 16],
    [traceOutputName("layer5")]: ["N", 16, 16, 8],
    [GRAPH_OUTPUT]: ["N", 16, 16, 3],
  });
  assert.equal(g.ops.at(-2), "Clip");
});

Deno.test("onnx graph: keys name what a spec compiles to", () => {
  const key = graphKey(model, { trace: ["layer4", "layer2", "layer4"], edits: { layer3: AV } });
  assert.equal(key, "from=;to=output_16x16;trace=layer2,layer4;edit=layer3:av;clamp=0");
  // Traces and edits of stages that do not run, and a clamp that does not reach the image, drop out.
  assert.equal(
    graphKey(model, {
      from: "layer2",
      to: "layer4",
      trace: ["layer1", "layer3"],
      edits: { layer6: AV },
      clamp: true,
    }),
    "from=layer2;to=layer4;trace=layer3;edit=;clamp=0",
  );
  assert.notEqual(
    graphKey(model, { edits: { layer3: AV } }),
    graphKey(model, { edits: { layer3: { ...AV, v: false } } }),
  );
});

Deno.test("onnx graph: unknown stages, wrong order and v without a give clear errors", () => {
  assert.throws(
    () => buildOnnxModel(model, { trace: ["layer9"] }),
    /no stage "layer9".*stages: layer1, layer2/,
  );
  assert.throws(
    () => buildOnnxModel(model, { from: "layer4", to: "layer2" }),
    /cannot run from "layer4" to "layer2"/,
  );
  assert.throws(
    () => buildOnnxModel(model, { edits: { layer2: { ...AV, a: false } } }),
    /edit of layer2: 'v' and 'mask' need 'a'/,
  );
  const noMap = structuredClone(model);
  noMap.stages[0].ops = noMap.stages[0].ops.filter((op) => op.kind !== "latent_to_map");
  assert.throws(() => buildOnnxModel(noMap), /layer1: pixel_norm needs a map input/);
});
