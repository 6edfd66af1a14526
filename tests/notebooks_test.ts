import { basename } from "node:path";
import { ensureDenoKernel, executeNotebook, hasJupyter, listNotebooks } from "./notebooks.ts";
import { optionalTest } from "./optional.ts";

const jupyter = {
  what: "Jupyter's nbconvert (runs the notebooks through the Deno kernel)",
  available: hasJupyter(),
  install: "apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel",
};

for (const nb of listNotebooks()) {
  optionalTest(`notebook ${basename(nb)} executes without errors`, jupyter, async () => {
    await ensureDenoKernel();
    const dir = await Deno.makeTempDir({ prefix: "ganatomy-nb-" });
    try {
      const executed = await executeNotebook(nb, { outputDir: dir });
      const cells = JSON.parse(await Deno.readTextFile(executed)).cells as {
        outputs?: { output_type: string }[];
      }[];
      const errors = cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      if (errors.length) throw new Error(`${nb}: ${errors.length} cell(s) raised errors`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
