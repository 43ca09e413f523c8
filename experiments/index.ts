import type { Experiment } from "./report.js";
import { vanishing } from "./vanishing.js";

/** Every experiment by its command-line name. */
export const EXPERIMENTS: Record<string, Experiment> = {
  vanishing,
};
