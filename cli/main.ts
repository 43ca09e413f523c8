import { Command } from "commander";
import { int, num, registerLMCommands } from "./commands.js";
import { registerDashboardCommand } from "./dashboard.js";
import { DEMO_DEFAULTS, runDemo } from "./demo.js";
import { registerExtraCommands } from "./extra.js";

const program = new Command()
  .name("gradlab")
  .description("Train recurrent networks and T5, and see their gradient flow.")
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

program
  .command("demo")
  .description("Train a character LSTM on Tiny Shakespeare for about a minute; print a sample and a gradient-flow report")
  .option("--seconds <n>", "training time budget in seconds", num("--seconds", 0, true), DEMO_DEFAULTS.seconds)
  .option("--hidden <n>", "LSTM hidden size", int("--hidden"), DEMO_DEFAULTS.hidden)
  .option("--layers <n>", "number of stacked LSTM layers", int("--layers"), DEMO_DEFAULTS.layers)
  .option("--batch <n>", "sequences per batch", int("--batch"), DEMO_DEFAULTS.batch)
  .option("--bptt <n>", "characters per truncated-BPTT window", int("--bptt", 2), DEMO_DEFAULTS.bptt)
  .option("--seed <n>", "random seed", int("--seed", 0), DEMO_DEFAULTS.seed)
  .option("--sample-length <n>", "characters to sample at the end", int("--sample-length", 0), DEMO_DEFAULTS.sampleLength)
  .option("--out <dir>", "run directory (default runs/demo-<time>)", "")
  .action(async (opts) => {
    await runDemo({ ...DEMO_DEFAULTS, ...opts });
  });

registerLMCommands(program);
registerDashboardCommand(program);
registerExtraCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`gradlab: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
