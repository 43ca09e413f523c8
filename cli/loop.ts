import { LMSession } from "./lmsession.js";
import { progressBar } from "./progress.js";

export interface LoopResult {
  interrupted: boolean;
  seconds: number;
  trainLoss: number;
}

/**
 * Trains until `steps` (or, with `seconds`, until the time budget is spent), evaluating and
 * checkpointing on the config's schedule. Ctrl-C finishes the current step, writes a checkpoint
 * and returns; a second Ctrl-C exits at once.
 */
export async function trainLoop(s: LMSession, until: { steps?: number; seconds?: number }, checkpoints = true): Promise<LoopResult> {
  const c = s.config;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\ninterrupted: finishing the current step and writing a checkpoint (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSigint);
  const t0 = performance.now();
  const startStep = s.step;
  const elapsed = () => (performance.now() - t0) / 1000;
  // With a time budget the step count is re-estimated from the recent pace as the JIT warms up.
  const estimate = () => {
    const done = s.step - startStep;
    const secs = elapsed();
    if (done === 0) return s.step + 1;
    return Math.max(s.step, Math.round(s.step + ((until.seconds! - secs) * done) / secs));
  };
  let total = until.seconds !== undefined ? s.step + 1 : until.steps!;
  const bar = progressBar(total - startStep, "training", "steps");
  let ema = NaN;
  let lastYield = performance.now();
  try {
    while (s.step < total && !interrupted) {
      // Signal handlers run on the event loop: let it turn now and then, or Ctrl-C waits for the end.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
      // On the GPU the loss comes back only at logging intervals (null between them).
      const loss = await s.trainStep(elapsed());
      if (loss !== null) ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
      if (until.seconds !== undefined && ((s.step - startStep) % 5 === 1 || s.step >= total)) {
        total = estimate();
        bar.setTotal(total - startStep);
      }
      if (c.evalEvery > 0 && s.step % c.evalEvery === 0) {
        await s.pull();
        s.recordEval(s.evaluate());
      }
      if (checkpoints && c.checkpointEvery > 0 && s.step % c.checkpointEvery === 0) await s.checkpoint();
      bar.update(s.step - startStep, { ...(Number.isNaN(ema) ? {} : { loss: ema }), "tok/s": Math.round(((s.step - startStep) * s.tokensPerStep) / elapsed()) });
    }
  } finally {
    bar.stop();
    process.off("SIGINT", onSigint);
  }
  // The GPU hands a logging step's loss over one step late: the last one is still to come.
  const last = s.gpu ? await s.gpu.flush() : null;
  if (last !== null) ema = Number.isNaN(ema) ? last : 0.95 * ema + 0.05 * last;
  await s.pull();
  if (checkpoints && (interrupted || c.checkpointEvery === 0 || s.step % c.checkpointEvery !== 0)) await s.checkpoint();
  return { interrupted, seconds: elapsed(), trainLoss: ema };
}
