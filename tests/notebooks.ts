/**
 * Execute notebooks through the real Deno Jupyter kernel (jupyter nbconvert), headless.
 *
 * `deno task notebooks` re-executes every notebook in place so the committed copies carry fresh outputs;
 * `tests/notebooks_test.ts` executes them into a temporary folder and fails on any cell error.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { commandConfig } from "../lib/util/config.ts";
import { hasExecutable } from "./optional.ts";

/** The notebooks folder of this checkout. */
export const NOTEBOOKS_DIR = resolve(dirname(new URL(import.meta.url).pathname), "..", "notebooks");

/** Every `*.ipynb` in `notebooks/`, sorted by name. */
export function listNotebooks(dir = NOTEBOOKS_DIR): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => join(dir, e.name))
    .sort();
}

/** Whether `jupyter nbconvert` can run. */
export function hasJupyter(): boolean {
  return hasExecutable("jupyter") && hasExecutable("jupyter-nbconvert");
}

/** Install (or refresh) the Deno kernelspec so that it runs this very Deno binary. */
export async function ensureDenoKernel(): Promise<void> {
  const spec = join(Deno.env.get("HOME") ?? "/root", ".local/share/jupyter/kernels/deno/kernel.json");
  try {
    const argv: string[] = JSON.parse(Deno.readTextFileSync(spec)).argv;
    if (argv[0] === Deno.execPath()) return;
  } catch {
    // missing or unreadable: install below
  }
  const out = await new Deno.Command(Deno.execPath(), { args: ["jupyter", "--install", "--force"] }).output();
  if (!out.success) {
    throw new Error(`deno jupyter --install failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Options of {@link executeNotebook}. */
export interface ExecuteOptions {
  /** Write the executed notebook here instead of over the original; default: in place. */
  outputDir?: string;
  /** Seconds a single cell may run; default 600. */
  cellTimeout?: number;
}

/** Execute one notebook; throws with the failing cell's error when any cell fails. */
export async function executeNotebook(path: string, options: ExecuteOptions = {}): Promise<string> {
  const outputDir = options.outputDir ?? dirname(path);
  const args = [
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    "--ExecutePreprocessor.kernel_name=deno",
    `--ExecutePreprocessor.timeout=${options.cellTimeout ?? 600}`,
    "--output-dir",
    outputDir,
    "--output",
    basename(path),
    path,
  ];
  const out = await new Deno.Command("jupyter", {
    args,
    cwd: dirname(path),
    env: { PYDEVD_DISABLE_FILE_VALIDATION: "1" },
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    const lines = err.split("\n").filter((l) =>
      !/Debugger warning|frozen modules|PYDEVD|Note: Debugging/.test(l)
    );
    throw new Error(`${path} failed to execute:\n${lines.slice(-40).join("\n")}`);
  }
  return join(outputDir, basename(path));
}

if (import.meta.main) {
  const config = commandConfig({}, {
    command: "deno task notebooks",
    summary:
      "Re-execute notebooks in place through the Deno Jupyter kernel (refreshes the committed outputs).",
    positionals: [{ name: "notebooks", help: "the .ipynb files (default: every notebook in notebooks/)" }],
    optionalPositionals: 1,
    variadic: true,
  });
  if (!hasJupyter()) {
    console.error(
      "jupyter nbconvert not found: apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel",
    );
    Deno.exit(1);
  }
  await ensureDenoKernel();
  const wanted = config._.length ? config._.map((a) => resolve(a)) : listNotebooks();
  for (const nb of wanted) {
    const t0 = performance.now();
    await executeNotebook(nb);
    console.log(`${basename(nb)}: executed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
