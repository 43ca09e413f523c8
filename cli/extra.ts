import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import * as gl from "../src/index.js";
import { EXPERIMENTS } from "../experiments/index.js";
import { writeReport } from "../experiments/report.js";
import { int, num } from "./commands.js";
import { RunError } from "./lmsession.js";
import { registerT5Train } from "./t5train.js";

const log = (s: string) => process.stderr.write(s + "\n");

export function registerExtraCommands(program: Command): void {
  program
    .command("experiment <name>")
    .description(`Run a classic experiment and write its metrics, SVG plots and report: ${Object.keys(EXPERIMENTS).join(", ")}, or all`)
    .option("--full", "the full setting (minutes to hours) instead of the reduced one (seconds)")
    .option("--seed <n>", "random seed", int("--seed", 0), 0)
    .option("--threads <n>", "compute threads of the fast backend", int("--threads"))
    .option("--out <dir>", "output directory (default runs/experiments/<name>)")
    .action((name: string, o: { full?: boolean; seed: number; threads?: number; out?: string }) => {
      const names = name === "all" ? Object.keys(EXPERIMENTS) : [name];
      const unknown = names.filter((n) => !EXPERIMENTS[n]);
      if (unknown.length) throw new InvalidArgumentError(`unknown experiment "${name}" (choose from ${Object.keys(EXPERIMENTS).join(", ")}, all)`);
      if (o.threads) gl.setNumThreads(o.threads);
      for (const n of names) {
        const dir = o.out ? (names.length > 1 ? join(o.out, n) : o.out) : join("runs", "experiments", n);
        log(`experiment ${n} (${o.full ? "full" : "reduced"} setting) → ${dir}`);
        const r = EXPERIMENTS[n]({ full: !!o.full, seed: o.seed, log });
        const files = writeReport(dir, r);
        log(`${n}: ${r.seconds.toFixed(1)} s, ${files.length} files; report: ${join(dir, "report.html")}`);
      }
    });

  const t5 = program.command("t5").description("T5: train, and generate text with a Hugging Face checkpoint");
  t5.command("generate <text...>")
    .description("Generate from a T5 checkpoint directory (config.json, model.safetensors, spiece.model)")
    .requiredOption("--model <dir>", "checkpoint directory in Hugging Face's layout")
    .option("--tokenizer <file>", "SentencePiece model (default <model>/spiece.model)")
    .option("--max-new-tokens <n>", "tokens to generate at most", int("--max-new-tokens"), 32)
    .option("--num-beams <n>", "beam search width (1: greedy)", int("--num-beams"), 1)
    .option("--length-penalty <x>", "beam search length penalty", Number, 1)
    .option("--temperature <t>", "sample at this temperature instead of greedy/beam decoding", num("--temperature", 0, true))
    .option("--top-k <k>", "with --temperature: keep the k most likely tokens", int("--top-k", 0))
    .option("--top-p <p>", "with --temperature: keep the most likely tokens holding this much probability", num("--top-p", 0, true))
    .option("--seed <n>", "random seed for sampling", int("--seed", 0), 0)
    .action(async (words: string[], o: { model: string; tokenizer?: string; maxNewTokens: number; numBeams: number; lengthPenalty: number; temperature?: number; topK?: number; topP?: number; seed: number }) => {
      const text = words.join(" ");
      const tok = await gl.t5.T5Tokenizer.fromFile(o.tokenizer ?? join(o.model, "spiece.model"));
      const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(o.model);
      const ids = tok.encode(text);
      if (ids.length <= 1) throw new RunError("the input text encodes to no tokens");
      const sampling = o.temperature !== undefined;
      const out = model.generate(gl.tensor([ids], { dtype: "int32" }), {
        maxNewTokens: o.maxNewTokens, numBeams: o.numBeams, lengthPenalty: o.lengthPenalty,
        ...(sampling ? { doSample: true, temperature: o.temperature, topK: o.topK, topP: o.topP, generator: new gl.Generator(o.seed) } : {}),
      });
      const row = (out.tolist() as number[][])[0];
      process.stdout.write(tok.decode(row, { skipSpecialTokens: true }) + "\n");
    });
  registerT5Train(t5);
}
