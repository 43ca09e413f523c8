import type { Experiment } from "./report.js";
import { vanishing } from "./vanishing.js";
import { longRange } from "./long-range.js";
import { exploding } from "./exploding.js";
import { depth } from "./depth.js";
import { lstmVsGru } from "./lstm-vs-gru.js";
import { bidirectional } from "./bidirectional.js";
import { stacking } from "./stacking.js";
import { shakespeare } from "./shakespeare.js";
import { seq2seq } from "./seq2seq.js";

/** Every experiment by its command-line name. */
export const EXPERIMENTS: Record<string, Experiment> = {
  vanishing,
  "long-range": longRange,
  exploding,
  depth,
  "lstm-vs-gru": lstmVsGru,
  bidirectional,
  stacking,
  seq2seq,
  shakespeare,
};
