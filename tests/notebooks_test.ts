import { basename } from "node:path";
import { ensureDenoKernel, executeNotebook, listNotebooks } from "./notebooks.ts";
import { jupyter as jupyterProbe, optionalTest } from "./optional.ts";

const jupyter = jupyterProbe();

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
