// Training run for test/io/checkpoint.test.ts, also run as a child process: a small recurrent
// model with dropout, AdamW, a global clip, a schedule and a seeded data stream, saving or
// resuming checkpoints.
// Usage: node --import tsx test/io/checkpoint-child.ts <full|first|second|big> <dir> <steps> <out>
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as gl from "../../src/index.js";

class Net extends gl.nn.Module {
  rnn = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.3 });
  drop = new gl.nn.Dropout(0.2, { generator: new gl.Generator(5) });
  head = new gl.nn.Linear(8, 2);
}

function setup(N: number) {
  gl.manualSeed(0);
  const model = new Net();
  const optimizer = new gl.optim.AdamW(model.parameters(), { lr: 0.02, globalClipNorm: 1 });
  const scheduler = new gl.optim.lrScheduler.LRScheduler(optimizer, gl.optim.lrScheduler.cosineWithWarmup({ warmupSteps: 3, totalSteps: N }));
  const data = new gl.Generator(123);
  return { model, optimizer, scheduler, generators: { data } };
}

function train(t: ReturnType<typeof setup>, from: number, to: number): number {
  let batch = from;
  for (let step = from; step < to; step++) {
    const x = gl.randn([6, 4, 3], { generator: t.generators.data });
    const target = gl.randint(0, 2, [4], { generator: t.generators.data });
    t.optimizer.zeroGrad();
    const [y] = t.model.rnn.forward(x);
    const logits = t.model.head.forward(t.model.drop.forward(y.select(0, 5)));
    gl.crossEntropy(logits, target).backward();
    t.optimizer.step();
    t.scheduler.step();
    batch++;
  }
  return batch;
}

/** Runs one mode; "full" and "second" write the final state, encoded as a checkpoint, to `out`. */
export async function runMode(mode: string, dir: string, N: number, out: string): Promise<void> {
  if (mode === "big") {
    // A large model so that a save takes long enough to be interrupted.
    gl.manualSeed(1);
    const model = new gl.nn.Linear(1000, 1000, { dtype: "float64" });
    await gl.io.saveCheckpoint(dir, { model }, { step: 1 });
    process.stdout.write("ready\n");
    for (let step = 2; ; step++) {
      model.weight.data[0] = step;
      await gl.io.saveCheckpoint(dir, { model }, { step }, { keepLast: 100 });
    }
  }
  const t = setup(N);
  let step = 0;
  if (mode === "second") {
    const r = await gl.io.loadLatestCheckpoint(dir, t);
    if (!r || (r.dataPosition as { batch: number }).batch !== r.step) throw new Error("no checkpoint to resume from");
    step = r.step;
  }
  const end = mode === "first" ? N / 2 : N;
  const batch = train(t, step, end);
  if (mode === "first") await gl.io.saveCheckpoint(dir, t, { step: end, dataPosition: { batch } });
  else writeFileSync(out, gl.io.encodeCheckpoint(t, { step: end, dataPosition: { batch } }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, dir, steps, out] = process.argv.slice(2);
  runMode(mode, dir, Number(steps), out).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
