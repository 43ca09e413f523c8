/**
 * gl.diagnostics: gradient-flow records, a JSONL recorder and SVG charts. Browser-safe; the file
 * sink loads diagnostics/node.ts on first use through an import bundlers leave alone.
 */
import { IOError } from "../core/errors.js";

export * from "./records.js";
export { GradFlowMonitor, type GradFlowMonitorOptions, paramStats, hiddenGradStats, gradFlags } from "./gradflow.js";
export { JsonlRecorder, type JsonlRecorderOptions, parseJsonl, toJsonLine } from "./jsonl.js";
export { lossCurveSvg, gradNormSvg, hiddenGradHeatmapSvg, lineChartSvg, viridis, type ChartOptions, type LineSeries, type LineChartOptions, type LossCurveOptions, type GradNormOptions, type HeatmapOptions } from "./svg.js";
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled, AnomalyError, type AnomalyOptions, type AnomalyPhase } from "./anomaly.js";

type NodeSink = typeof import("./node.js");
// A non-literal specifier keeps bundlers from pulling node:fs into browser builds.
const NODE_SINK = "./node.js";

/** A JSONL sink appending to a file (Node only): `new JsonlRecorder({ sink: await openJsonlFile(path) })`. */
export async function openJsonlFile(path: string, opts: { append?: boolean } = {}): Promise<(line: string) => void> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) throw new IOError("openJsonlFile: file access needs Node; in a browser pass your own sink to JsonlRecorder");
  const mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_SINK)) as NodeSink;
  return mod.jsonlFileSink(path, opts);
}
