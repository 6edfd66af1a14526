/**
 * The benchmark's summary: `summary.json` (`{configs: {<config>: ConfigResult & {checkpoint}}}`) and its markdown,
 * one table per configuration and a summary table of restoration by method and configuration.
 *
 * @module
 */
import type { Interval } from "../stats/bootstrap.ts";
import type { ConfigResult } from "./benchmark.ts";

/** `summary.json`. */
export interface Summary {
  configs: Record<string, ConfigResult & { checkpoint: string }>;
}

const ci = (x: Interval, digits = 3) =>
  `${x.estimate.toFixed(digits)} [${x.lo.toFixed(digits)}, ${x.hi.toFixed(digits)}]`;

/** One configuration's table. */
export function configMarkdown(name: string, r: ConfigResult): string {
  const p = r.planting;
  const head = `### ${name}\n\n${p.kind} ×${p.strength} of ${p.layer} units [${p.units.join(", ")}]; ` +
    `labels (${r.labels.source}): ${r.labels.artifact} artifact, ${r.labels.normal} normal; held-out: ` +
    `${r.heldout.seeds} seeds, mean damage ${r.heldout.damage.toFixed(4)}, ${
      (100 * r.heldout.damaged_share).toFixed(0)
    }% damaged, ` +
    `${r.heldout.untouched} untouched.\n\n`;
  const rows = Object.entries(r.methods).map(([k, m]) => {
    const restoration = m.draws
      ? `${m.draws.restoration_mean.toFixed(3)} ± ${
        m.draws.restoration_sd.toFixed(3)
      } (${m.draws.count} draws)`
      : ci(m.restoration);
    return `| ${m.label} | ${m.ap.toFixed(3)} | ${m.precision_at_k.toFixed(2)} | ${restoration} | ${
      ci(m.damage)
    } | ${k} |`;
  });
  return head +
    "| method | AP | P@k | restoration ↓ (95% CI) | damage ↓ (95% CI) | restoration, automatic labels | key |\n|---|---|---|---|---|---|---|\n" +
    rows.join("\n");
}

/** Every configuration's table, then restoration by method (rows) and configuration (columns). */
export function summaryMarkdown(summary: Summary): string {
  const configs = Object.entries(summary.configs);
  const methods = [...new Set(configs.flatMap(([, r]) => Object.keys(r.methods)))];
  const cell = (r: ConfigResult, m: string, auto: boolean) => {
    const x = r.methods[m];
    if (!x) return "—";
    if (auto) return x.restoration_auto && !x.draws ? x.restoration_auto.estimate.toFixed(2) : "—";
    return (x.draws ? x.draws.restoration_mean : x.restoration.estimate).toFixed(2);
  };
  const table = (auto: boolean) =>
    [
      `| restoration ↓${auto ? " (automatic labels)" : ""} | ${configs.map(([k]) => k).join(" | ")} |`,
      `|---|${configs.map(() => "---").join("|")}|`,
      ...methods.map((m) => `| ${m} | ${configs.map(([, r]) => cell(r, m, auto)).join(" | ")} |`),
    ].join("\n");
  return `## Summary: restoration (0 repaired, 1 unchanged), top-k ablated, k = culprits\n\nOracle labels:\n\n` +
    `${table(false)}\n\nThe domain's automatic labeller:\n\n${table(true)}\n\n` +
    configs.map(([k, r]) => configMarkdown(k, r)).join("\n\n");
}
