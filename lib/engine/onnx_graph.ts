/**
 * Compile a {@link GeneratorDescription} to an ONNX model (serialised `ModelProto` bytes) for ONNX Runtime.
 *
 * The graph computes in NCHW, ONNX's native layout: convolution weights are written as OIHW initializers
 * (HWIO transposed, op scales folded in), and the layout changes happen inside the graph: a Transpose after an
 * NHWC stage input and before every NHWC output. Callers see NHWC only.
 *
 * A {@link GraphSpec} says what a graph computes beyond the plain forward pass: where it starts (`from`) and
 * stops (`to`), which stage outputs it also returns (traces), which stages it edits with which edit fields, and
 * whether it clamps the image. Edit values are graph *inputs*, so one compiled graph (one ORT session) serves
 * every value of the same edit shape; {@link graphKey} names a spec for caching.
 *
 * Names in the graph (see {@link GRAPH_INPUT}, {@link GRAPH_OUTPUT}, {@link traceOutputName},
 * {@link editInputName}):
 * - input `input`: z `[N, D]`, or the `from` stage's output `[N, H, W, C]` (NHWC);
 * - output `output`: the image or the `to` stage's output, NHWC; `trace:<stage>`: a traced stage output, NHWC;
 * - edit inputs `edit:<stage>:a|v|scale` of shape `[1, C, 1, 1]` and `edit:<stage>:mask` of shape
 *   `[1 or N, 1, H, W]` (a spatial mask viewed as NCHW with one channel; it broadcasts over units).
 *
 * Each edited stage computes exactly the edit formula of {@link ./edits.ts}:
 * `x' = (x · (1 − a·m) + v · a·m) · scale`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan } from "../models/pggan.ts";
 * import { buildOnnxModel, graphKey } from "./onnx_graph.ts";
 * const model = randomPggan([16, 16, 8]);
 * const spec = { trace: ["layer2"], edits: { layer2: { a: true, v: true, scale: false, mask: false } } };
 * const bytes = buildOnnxModel(model, spec); // a ModelProto for ort.InferenceSession.create(bytes)
 * assert.ok(bytes.length > 0);
 * assert.equal(graphKey(model, spec), "from=;to=output_8x8;trace=layer2;edit=layer2:av;clamp=0");
 * ```
 * @module
 */
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import {
  type Activation,
  type GeneratorDescription,
  type Op,
  type Stage,
  stageIndex,
  type Weight,
} from "../models/stages.ts";

/** Which edit fields a graph takes as inputs for one stage (values come with each run). */
export interface EditFields {
  /** Replacement strength per unit. */
  a: boolean;
  /** Replacement value per unit (needs `a`; absent means 0). */
  v: boolean;
  /** Factor per unit after the replacement. */
  scale: boolean;
  /** A spatial mask on the replacement (needs `a`). */
  mask: boolean;
}

/** What one compiled graph computes; the same options as a run, with edit *shapes* instead of values. */
export interface GraphSpec {
  /** Input is this stage's NHWC output; default: input is z. */
  from?: string;
  /** Output is this stage's output; default: the image. */
  to?: string;
  /** Stages whose (edited) outputs are extra graph outputs. */
  trace?: string[];
  /** Edited stages and the edit fields each takes as inputs. */
  edits?: Record<string, EditFields>;
  /** Clip the image to [-1, 1] (only when the graph ends at the image). Default false. */
  clamp?: boolean;
}

/** The graph input's name. */
export const GRAPH_INPUT = "input";
/** The main graph output's name. */
export const GRAPH_OUTPUT = "output";

/** The graph output holding a traced stage's output. */
export function traceOutputName(stage: string): string {
  return `trace:${stage}`;
}

/** The graph input holding one field of a stage's edit. */
export function editInputName(stage: string, field: keyof EditFields): string {
  return `edit:${stage}:${field}`;
}

/** A spec resolved against a model: stage range, and traces and edits limited to the stages that run. */
export interface ResolvedSpec {
  /** Index of the first stage that runs. */
  first: number;
  /** Index of the last stage that runs. */
  last: number;
  /** Traced stage names within the range, in stage order. */
  trace: string[];
  /** Edited stages within the range, in stage order. */
  edits: [string, EditFields][];
  /** Whether the image is clamped (asked for and the graph ends at the image). */
  clamp: boolean;
}

/**
 * Check a spec's stage names and order, and keep only the traces and edits of stages that run (as the tfjs
 * engine does). Throws naming the known stages for an unknown name.
 */
export function resolveSpec(model: GeneratorDescription, spec: GraphSpec): ResolvedSpec {
  const first = spec.from === undefined ? 0 : stageIndex(model, spec.from) + 1;
  const last = spec.to === undefined ? model.stages.length - 1 : stageIndex(model, spec.to);
  if (last < first) throw new Error(`cannot run from "${spec.from}" to "${spec.to}": wrong order`);
  const inRange = (name: string) => {
    const i = stageIndex(model, name);
    return i >= first && i <= last;
  };
  const byOrder = (a: string, b: string) => stageIndex(model, a) - stageIndex(model, b);
  const trace = [...new Set(spec.trace ?? [])].filter(inRange).sort(byOrder);
  const edits = Object.entries(spec.edits ?? {}).filter(([name]) => inRange(name));
  edits.sort(([a], [b]) => byOrder(a, b));
  for (const [name, fields] of edits) {
    if (!fields.a && (fields.v || fields.mask)) {
      throw new Error(`edit of ${name}: 'v' and 'mask' need 'a' (the replacement strength)`);
    }
  }
  return { first, last, trace, edits, clamp: !!spec.clamp && last === model.stages.length - 1 };
}

/**
 * A canonical name for what a spec compiles to: specs with equal keys build equal graphs (stages outside the
 * run, trace order and duplicate names do not matter). Throws like {@link resolveSpec}.
 */
export function graphKey(model: GeneratorDescription, spec: GraphSpec): string {
  const r = resolveSpec(model, spec);
  const fields = (f: EditFields) =>
    (f.a ? "a" : "") + (f.v ? "v" : "") + (f.scale ? "s" : "") + (f.mask ? "m" : "") || "-";
  return [
    `from=${r.first === 0 ? "" : model.stages[r.first - 1].name}`,
    `to=${model.stages[r.last].name}`,
    `trace=${r.trace.join(",")}`,
    `edit=${r.edits.map(([name, f]) => `${name}:${fields(f)}`).join(",")}`,
    `clamp=${r.clamp ? 1 : 0}`,
  ].join(";");
}

/** ONNX opset and IR version of the built models (ONNX 1.12: IR 8, opset 17). */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;

// onnx-proto is CommonJS: its messages hang off the default export at run time.
const { AttributeProto, ModelProto, TensorProto } = onnxProto.onnx;

type Dim = number | string;
/** An attribute value: a number is an INT, `{ float }` a FLOAT, an array INTS, a string STRING. */
type AttrValue = number | number[] | string | { float: number };

/** The little-endian bytes of `data` (raw_data of a TensorProto; this platform is little-endian). */
function bytesOf(data: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === "object") return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.INT, i: value };
}

function valueInfo(name: string, dims: Dim[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: TensorProto.DataType.FLOAT, shape: { dim } } } };
}

/** Collects nodes, initializers, inputs and outputs; values are named by a counter. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private count = 0;
  private readonly shared = new Map<string, string>();

  /** Add a node; returns its (single) output's name, `output` when given. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.count++}`;
    const attributes = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute: attributes });
    return out;
  }

  /** A weight initializer, made once per name (a weight may serve several ops). */
  weight(name: string, dims: number[], make: () => Float32Array): string {
    return this.once(`w:${name}`, () => this.initializer(name, dims, make()));
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.once(`f:${value}`, () => this.initializer(`const_${value}`, [], Float32Array.of(value)));
  }

  /** A float32 vector constant. */
  floats(values: number[]): string {
    const name = `const_f32_${values.join("_")}`;
    return this.once(
      `fv:${values}`,
      () => this.initializer(name, [values.length], Float32Array.from(values)),
    );
  }

  /** An int64 vector constant (shapes). */
  int64s(values: number[]): string {
    const name = `const_i64_${values.join("_")}`;
    const data = () => BigInt64Array.from(values, (v) => BigInt(v));
    return this.once(`i:${values}`, () => this.initializer(name, [values.length], data()));
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  private initializer(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const dataType = data instanceof Float32Array ? TensorProto.DataType.FLOAT : TensorProto.DataType.INT64;
    this.initializers.push({ name, dims, dataType, rawData: bytesOf(data) });
    return name;
  }

  /** The value named by `key`, made on first use. */
  private once(key: string, make: () => string): string {
    let name = this.shared.get(key);
    if (name === undefined) this.shared.set(key, name = make());
    return name;
  }
}

/** HWIO weights → OIHW, times `scale`. */
function hwioToOihw(w: Weight, scale: number): Float32Array {
  const [kh, kw, ci, co] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let h = 0; h < kh; h++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        const src = ((h * kw + x) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + x] = w.data[src + o] * scale;
      }
    }
  }
  return out;
}

function activation(g: GraphBuilder, x: string, act: Activation): string {
  switch (act.kind) {
    case "leaky_relu":
      return g.node("LeakyRelu", [x], { alpha: { float: act.alpha } });
    case "relu":
      return g.node("Relu", [x]);
    case "tanh":
      return g.node("Tanh", [x]);
    case "clamp":
      return g.node("Clip", [x, g.scalar(act.min), g.scalar(act.max)]);
  }
}

/** Emits stages into a graph, holding the current value: a latent `[N, D]`, then NCHW maps. */
class StageEmitter {
  constructor(
    private readonly g: GraphBuilder,
    private readonly model: GeneratorDescription,
    /** The current value's name. */
    public x: string,
    /** Its rank: 2 for the latent, 4 for maps. */
    private rank: number,
  ) {}

  /** One op of `stage`. */
  op(op: Op, stage: string): void {
    this.x = this.emit(op, stage);
    this.rank = 4;
  }

  private emit(op: Op, stage: string): string {
    const { g, x } = this;
    if (op.kind === "latent_to_map") {
      if (this.rank !== 2) throw new Error(`${stage}: latent_to_map needs a latent [N, D] input`);
      return g.node("Reshape", [x, g.int64s([0, -1, 1, 1])]); // [N, D, 1, 1]
    }
    if (this.rank !== 4) {
      throw new Error(`${stage}: ${op.kind} needs a map input; does the stage lack latent_to_map?`);
    }
    switch (op.kind) {
      case "pixel_norm": {
        const meanSquare = g.node("ReduceMean", [g.node("Mul", [x, x])], { axes: [1], keepdims: 1 }); // [N, 1, H, W]
        return g.node("Div", [x, g.node("Sqrt", [g.node("Add", [meanSquare, g.scalar(op.eps)])])]);
      }
      case "upsample_nearest":
        return g.node("Resize", [x, "", g.floats([1, 1, op.factor, op.factor])], {
          mode: "nearest",
          coordinate_transformation_mode: "asymmetric",
          nearest_mode: "floor",
        });
      case "conv2d": {
        const w = this.model.weights[op.weight];
        const [kh, kw, ci, co] = w.shape;
        // OIHW with the op scale folded in; a weight shared with another scale gets its own initializer.
        const name = op.scale === undefined ? op.weight : `${op.weight}*${op.scale}`;
        const inputs = [x, g.weight(name, [co, ci, kh, kw], () => hwioToOihw(w, op.scale ?? 1))];
        if (op.bias !== undefined) {
          inputs.push(g.weight(op.bias, [co], () => this.model.weights[op.bias!].data));
        }
        const y = g.node("Conv", inputs, {
          kernel_shape: [kh, kw],
          pads: [op.pad, op.pad, op.pad, op.pad],
          strides: [op.stride, op.stride],
        });
        return op.activation ? activation(g, y, op.activation) : y;
      }
      case "activation":
        return activation(g, x, op.activation);
    }
  }

  /** The edit formula on the stage output, with the edit's fields as graph inputs. */
  edit(stage: Stage, f: EditFields): void {
    const g = this.g;
    const perUnit = (field: keyof EditFields) =>
      g.input(editInputName(stage.name, field), [1, stage.channels, 1, 1]);
    let y = this.x;
    if (f.a) {
      let am = perUnit("a");
      if (f.mask) {
        const mask = g.input(editInputName(stage.name, "mask"), [
          `mask_n:${stage.name}`,
          1,
          stage.size,
          stage.size,
        ]);
        am = g.node("Mul", [am, mask]); // [1|N, C, H, W]
      }
      y = g.node("Mul", [y, g.node("Sub", [g.scalar(1), am])]);
      if (f.v) y = g.node("Add", [y, g.node("Mul", [perUnit("v"), am])]);
    }
    if (f.scale) y = g.node("Mul", [y, perUnit("scale")]);
    this.x = y;
  }

  /** Clip the current value to [-1, 1]. */
  clamp(): void {
    this.x = this.g.node("Clip", [this.x, this.g.scalar(-1), this.g.scalar(1)]);
  }

  /** The current value (a `stage` output), NCHW → NHWC, as the graph output `name`. */
  output(name: string, stage: Stage): void {
    this.g.node("Transpose", [this.x], { perm: [0, 2, 3, 1] }, name);
    this.g.output(name, ["N", stage.size, stage.size, stage.channels]);
  }
}

/**
 * Build the ONNX model (serialised `ModelProto`) that runs `model` as `spec` says (see the module
 * documentation for names and layouts). Only the weights of the stages that run are included. Throws for
 * unknown stage names, a wrong stage order, or edit fields that need `a` without it.
 */
export function buildOnnxModel(model: GeneratorDescription, spec: GraphSpec = {}): Uint8Array {
  const r = resolveSpec(model, spec);
  const g = new GraphBuilder();
  let e: StageEmitter;
  if (r.first === 0) {
    e = new StageEmitter(g, model, g.input(GRAPH_INPUT, ["N", model.zDim]), 2);
  } else {
    const prev = model.stages[r.first - 1];
    g.input(GRAPH_INPUT, ["N", prev.size, prev.size, prev.channels]);
    e = new StageEmitter(g, model, g.node("Transpose", [GRAPH_INPUT], { perm: [0, 3, 1, 2] }), 4); // [N, C, H, W]
  }
  const traced = new Set(r.trace);
  const edits = new Map(r.edits);
  for (const stage of model.stages.slice(r.first, r.last + 1)) {
    for (const op of stage.ops) e.op(op, stage.name);
    const edit = edits.get(stage.name);
    if (edit) e.edit(stage, edit);
    if (traced.has(stage.name)) e.output(traceOutputName(stage.name), stage);
  }
  if (r.clamp) e.clamp();
  e.output(GRAPH_OUTPUT, model.stages[r.last]);

  const proto: onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: "ganatomy",
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: `${model.arch}:${graphKey(model, spec)}`,
      node: g.nodes,
      initializer: g.initializers,
      input: g.inputs,
      output: g.outputs,
    },
  };
  return ModelProto.encode(proto).finish();
}

/** A one-node model (`y = Identity(x)`, x float `[1]`): enough to check that ONNX Runtime can create sessions. */
export function identityModel(): Uint8Array {
  return ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: "ganatomy",
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: "identity",
      node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
      input: [valueInfo("x", [1])],
      output: [valueInfo("y", [1])],
    },
  }).finish();
}
