export { Trainer, type TrainerOptions, type TrainerCallbacks, type StepEvent, type EvalEvent, type FitResult } from "./trainer.js";
