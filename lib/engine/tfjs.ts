/**
 * The tfjs engine: a run loop over a generator's stages. It trains and takes gradients; forward-only loops may
 * use a faster engine with the same options.
 *
 * One loop serves every use: trace stage outputs, edit them ({@link Edit}), start from a stage's activations
 * (`from`), stop after a stage (`to`). The model is never mutated; edits are data passed to the run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { TfjsGenerator } from "./tfjs.ts";
 * import { ablate } from "./edits.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const gen = new TfjsGenerator(randomPggan([16, 16, 8]));
 * const z = tf.randomNormal([2, 16]) as tf.Tensor2D;
 * const { output, traces } = gen.run(z, { trace: ["layer2"], edits: { layer2: ablate([0, 1], 16) } });
 * assert.deepEqual([output.shape, traces.layer2.shape], [[2, 8, 8, 3], [2, 4, 4, 16]]);
 * tf.dispose([z, output, traces.layer2]);
 * gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Activation, type GeneratorDescription, type Op, stageIndex } from "../models/stages.ts";
import { upsampleNearest } from "../tensor/upsample.ts";
import { applyEditTf, type Edits } from "./edits.ts";

/** Options of a run; every engine honours the same ones. */
export interface RunOptions {
  /** Stage names whose outputs (after their edit, i.e. what flows on) are returned in `traces`. */
  trace?: string[];
  /** Edits by stage name, applied to that stage's output. */
  edits?: Edits;
  /** The input is this stage's output `[N, H, W, C]`; the run starts at the next stage. Default: input is z. */
  from?: string;
  /** Stop after this stage and return its (edited) output. Default: run to the image. */
  to?: string;
  /** Clamp the image to [-1, 1] (for segmenters, classifiers, feature extractors). Default false. */
  clamp?: boolean;
}

/** What a run returns; the caller owns (and disposes) every tensor in it. */
export interface RunResult {
  /** The image `[N, R, R, 3]`, or the output of stage `to`. */
  output: tf.Tensor4D;
  /** Traced stage outputs by name. */
  traces: Record<string, tf.Tensor4D>;
}

/** Parameters by weight name: constant tensors for inference, variables for training. */
export type Params = Record<string, tf.Tensor>;

function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act.kind) {
    case "leaky_relu":
      return tf.leakyRelu(x, act.alpha);
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tf.tanh(x);
    case "clamp":
      return tf.clipByValue(x, act.min, act.max);
  }
}

function runOp(x: tf.Tensor, op: Op, params: Params): tf.Tensor {
  switch (op.kind) {
    case "latent_to_map": {
      if (x.rank !== 2) throw new Error(`latent input must be [N, D], got [${x.shape}]`);
      return tf.reshape(x, [x.shape[0], 1, 1, x.shape[1] as number]); // [N, 1, 1, D]
    }
    case "pixel_norm":
      return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), op.eps)));
    case "upsample_nearest":
      return upsampleNearest(x, { factor: op.factor });
    case "conv2d": {
      const act = op.activation;
      const fusable = act === undefined || act.kind === "leaky_relu" || act.kind === "relu";
      const y = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter:
          (op.scale === undefined ? params[op.weight] : tf.mul(params[op.weight], op.scale)) as tf.Tensor4D,
        strides: op.stride,
        pad: op.pad,
        bias: op.bias === undefined ? undefined : params[op.bias],
        activation: !fusable || act === undefined ? "linear" : act.kind === "relu" ? "relu" : "leakyrelu",
        leakyreluAlpha: act?.kind === "leaky_relu" ? act.alpha : undefined,
      });
      return fusable || act === undefined ? y : activate(y, act);
    }
    case "activation":
      return activate(x, op.activation);
  }
}

/**
 * Run `model`'s stages over `input` with `params` (see {@link RunOptions}). Pure: differentiable with respect to
 * the input, the params and any tensors inside the edits. The caller owns the returned tensors.
 */
export function runStages(
  model: GeneratorDescription,
  params: Params,
  input: tf.Tensor,
  options: RunOptions = {},
): RunResult {
  const first = options.from === undefined ? 0 : stageIndex(model, options.from) + 1;
  const last = options.to === undefined ? model.stages.length - 1 : stageIndex(model, options.to);
  if (last < first) throw new Error(`cannot run from "${options.from}" to "${options.to}": wrong order`);
  const wanted = new Set(options.trace ?? []);
  for (const name of wanted) stageIndex(model, name);
  for (const name of Object.keys(options.edits ?? {})) stageIndex(model, name);
  if (options.from !== undefined && input.rank !== 4) {
    throw new Error(`input for a run from "${options.from}" must be [N, H, W, C], got [${input.shape}]`);
  }
  if (options.from === undefined && (input.rank !== 2 || input.shape[1] !== model.zDim)) {
    throw new Error(`latent z must be [N, ${model.zDim}], got [${input.shape}]`);
  }
  return tf.tidy(() => {
    const traces: Record<string, tf.Tensor4D> = {};
    let x: tf.Tensor = input;
    for (let i = first; i <= last; i++) {
      const stage = model.stages[i];
      for (const op of stage.ops) x = runOp(x, op, params);
      const edit = options.edits?.[stage.name];
      if (edit) x = applyEditTf(x as tf.Tensor4D, edit, stage.name);
      if (wanted.has(stage.name)) traces[stage.name] = x as tf.Tensor4D;
    }
    if (options.clamp && last === model.stages.length - 1) x = tf.clipByValue(x, -1, 1);
    return { output: x as tf.Tensor4D, traces };
  });
}

/** Make constant tensors of a description's weights (the caller disposes them, or use {@link TfjsGenerator}). */
export function paramsFromDescription(model: GeneratorDescription): Params {
  const params: Params = {};
  for (const [name, w] of Object.entries(model.weights)) params[name] = tf.tensor(w.data, w.shape, "float32");
  return params;
}

/** A generator on the tfjs engine: holds its weights as tensors until {@link TfjsGenerator.dispose}. */
export class TfjsGenerator {
  readonly params: Params;

  constructor(readonly model: GeneratorDescription) {
    this.params = paramsFromDescription(model);
  }

  /** Run the stages (see {@link RunOptions}); the caller owns the returned tensors. */
  run(input: tf.Tensor, options: RunOptions = {}): RunResult {
    return runStages(this.model, this.params, input, options);
  }

  /** Free the weight tensors. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}
