/**
 * T5's pre-training objective (Raffel et al. 2020, §3.1.4), as t5.data.preprocessors does it:
 * about noiseDensity of the tokens, in spans of meanNoiseSpanLength on average, are dropped from
 * the input, each span replaced by one sentinel (<extra_id_0>, <extra_id_1>, ...); the target
 * lists the dropped spans, each introduced by its sentinel, with the kept stretches replaced by
 * sentinels in turn. Input and target end with eos.
 *   "Thank you for inviting me to your party last week ."
 *   → input  "Thank you <X> me to your party <Y> week . </s>"
 *   → target "<X> for inviting <Y> last <Z> </s>"
 */
import { GradlabError } from "../../core/errors.js";
import { type Generator, defaultGenerator } from "../../core/rng.js";

export interface SpanCorruptionOptions {
  noiseDensity?: number;
  meanNoiseSpanLength?: number;
  generator?: Generator;
  /** Id of the n-th sentinel; T5: vocabSize − 1 − n (tokenizer.sentinelId). */
  sentinelId: (n: number) => number;
  /** Appended to input and target (T5: 1); null for none. */
  eosId?: number | null;
}

/** Python's round(): halves go to the even neighbour (round(4.5) = 4), as T5's code rounds. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Splits numItems items into numSegments non-empty runs at random; returns the run lengths. */
function randomSegmentation(numItems: number, numSegments: number, gen: Generator): number[] {
  // numSegments − 1 cut points among the numItems − 1 gaps, shuffled uniformly.
  const cuts: number[] = Array.from({ length: numItems - 1 }, (_, i) => (i < numSegments - 1 ? 1 : 0));
  for (let i = cuts.length - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [cuts[i], cuts[j]] = [cuts[j], cuts[i]];
  }
  const lengths = new Array<number>(numSegments).fill(0);
  let seg = 0;
  lengths[0] = 1;
  for (const c of cuts) {
    seg += c;
    lengths[seg]++;
  }
  return lengths;
}

/**
 * T5's random_spans_noise_mask: true marks noise. round(length · density) noise tokens (at least
 * one, and at least one kept) in round(noise / meanSpan) spans (at least one); the sequence starts
 * with kept tokens and alternates kept and noise spans.
 */
export function randomSpansNoiseMask(length: number, noiseDensity = 0.15, meanNoiseSpanLength = 3, gen: Generator = defaultGenerator): boolean[] {
  if (!Number.isInteger(length) || length < 0) throw new GradlabError(`randomSpansNoiseMask: length must be an integer >= 0, got ${length}`);
  if (!(noiseDensity > 0 && noiseDensity < 1)) throw new GradlabError(`randomSpansNoiseMask: noiseDensity must be in (0, 1), got ${noiseDensity}`);
  if (!(meanNoiseSpanLength >= 1)) throw new GradlabError(`randomSpansNoiseMask: meanNoiseSpanLength must be >= 1, got ${meanNoiseSpanLength}`);
  const orig = length;
  const n = Math.max(length, 2);
  const numNoise = Math.min(Math.max(roundHalfEven(n * noiseDensity), 1), n - 1);
  const numSpans = Math.max(roundHalfEven(numNoise / meanNoiseSpanLength), 1);
  const noiseLengths = randomSegmentation(numNoise, numSpans, gen);
  const keptLengths = randomSegmentation(n - numNoise, numSpans, gen);
  const mask: boolean[] = [];
  for (let s = 0; s < numSpans; s++) {
    for (let i = 0; i < keptLengths[s]; i++) mask.push(false);
    for (let i = 0; i < noiseLengths[s]; i++) mask.push(true);
  }
  return mask.slice(0, orig);
}

/** Replaces each run of `drop` positions by one sentinel, numbering runs from 0. */
function sentinelize(ids: readonly number[], drop: readonly boolean[], sentinelId: (n: number) => number): number[] {
  const out: number[] = [];
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    if (!drop[i]) out.push(ids[i]);
    else if (i === 0 || !drop[i - 1]) out.push(sentinelId(n++));
  }
  return out;
}

/** Input and target of the span-corruption objective for one token sequence (without eos). */
export function spanCorruption(ids: readonly number[], opts: SpanCorruptionOptions): { inputIds: number[]; labels: number[] } {
  const { noiseDensity = 0.15, meanNoiseSpanLength = 3, generator = defaultGenerator, eosId = 1 } = opts;
  if (typeof opts.sentinelId !== "function") throw new GradlabError("spanCorruption: sentinelId must be a function n → id of <extra_id_n>");
  const mask = randomSpansNoiseMask(ids.length, noiseDensity, meanNoiseSpanLength, generator);
  const inputIds = sentinelize(ids, mask, opts.sentinelId);
  const labels = sentinelize(ids, mask.map((m) => !m), opts.sentinelId);
  if (eosId !== null) {
    inputIds.push(eosId);
    labels.push(eosId);
  }
  return { inputIds, labels };
}
