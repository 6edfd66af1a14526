/**
 * The model description: a generator is an ordered list of named stages.
 *
 * Stage names are the checkpoint's keys (`layer1` … `layerN`, `output_RxR`), so a unit is addressed as
 * `(stage name, channel)` everywhere: in traces, edits, dissection results and saved corrections. A stage is a
 * short list of plain ops over named weights; it holds no code, so more than one engine can execute it (tfjs for
 * training and gradients, ONNX Runtime for fast forward passes) and tests can hold the engines equal.
 *
 * Layout is NHWC for activations and HWIO for convolution weights. Constant scales (PGGAN's equalised learning
 * rate) are folded into the weights when a description is built, so engines never see them.
 *
 * @module
 */

/** A weight: float32 values in NHWC/HWIO layout. */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** One step of a stage. Inputs and outputs are NHWC activations. */
export type Op =
  /** View a latent `[N, D]` as a 1x1 map `[N, 1, 1, D]`. */
  | { kind: "latent_to_map" }
  /** Pixel-wise feature normalisation: `x / sqrt(mean_c(x²) + eps)`. */
  | { kind: "pixel_norm"; eps: number }
  /** Nearest-neighbour upsampling by an integer factor. */
  | { kind: "upsample_nearest"; factor: number }
  /**
   * Convolution with an HWIO `weight`, optional per-channel `bias`, stride 1 or more, symmetric zero padding
   * `pad` (pixels on each side), then an optional activation (fused where the engine can).
   */
  | {
    kind: "conv2d";
    weight: string;
    bias?: string;
    /** Constant factor on the convolution before the bias (equalised learning rate while training). */
    scale?: number;
    stride: number;
    pad: number;
    activation?: Activation;
  }
  /** An element-wise activation on its own. */
  | { kind: "activation"; activation: Activation };

/** Element-wise activations; `leaky_relu` carries its negative slope. */
export type Activation =
  | { kind: "leaky_relu"; alpha: number }
  | { kind: "relu" }
  | { kind: "tanh" }
  | { kind: "clamp"; min: number; max: number };

/** A named stage: its output is what traces and edits address. */
export interface Stage {
  name: string;
  ops: Op[];
  /** Channels (units) of the stage's output. */
  channels: number;
  /** Spatial size of the stage's output (square). */
  size: number;
}

/** A generator: latent → stages → image. */
export interface GeneratorDescription {
  /** Architecture family, e.g. "pggan". */
  arch: string;
  /** Dimension of the latent z. */
  zDim: number;
  /** Stages in execution order; the last produces the image. */
  stages: Stage[];
  /** Weights referenced by the ops, keyed by checkpoint-style names (`layer1.conv.weight`). */
  weights: Record<string, Weight>;
  /** Output resolution (square) and channels. */
  resolution: number;
  outputChannels: number;
}

/** The index of a named stage; throws naming the known stages when it is missing. */
export function stageIndex(model: GeneratorDescription, name: string): number {
  const i = model.stages.findIndex((s) => s.name === name);
  if (i < 0) {
    throw new Error(
      `no stage "${name}" in this ${model.arch} generator; stages: ${stageNames(model).join(", ")}`,
    );
  }
  return i;
}

/** Stage names in order. */
export function stageNames(model: GeneratorDescription): string[] {
  return model.stages.map((s) => s.name);
}

/** Check that every op's weights exist and have consistent shapes; throws naming the stage and weight. */
export function validateDescription(model: GeneratorDescription): void {
  const names = new Set<string>();
  for (const stage of model.stages) {
    if (names.has(stage.name)) throw new Error(`stage name "${stage.name}" appears twice`);
    names.add(stage.name);
    for (const op of stage.ops) {
      if (op.kind !== "conv2d") continue;
      const w = model.weights[op.weight];
      if (!w) throw new Error(`${stage.name}: weight "${op.weight}" is missing`);
      if (w.shape.length !== 4) {
        throw new Error(`${stage.name}: weight "${op.weight}" must be HWIO, got shape [${w.shape}]`);
      }
      if (w.data.length !== w.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(
          `${stage.name}: weight "${op.weight}" has ${w.data.length} values for shape [${w.shape}]`,
        );
      }
      if (op.bias !== undefined) {
        const b = model.weights[op.bias];
        if (!b) throw new Error(`${stage.name}: bias "${op.bias}" is missing`);
        if (b.shape.length !== 1 || b.shape[0] !== w.shape[3]) {
          throw new Error(
            `${stage.name}: bias "${op.bias}" has shape [${b.shape}], expected [${w.shape[3]}]`,
          );
        }
      }
    }
  }
}
