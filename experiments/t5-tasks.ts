/** The generated text-to-text tasks now live in the library (gl.t5.makeTasks); kept here for old imports. */
export { TASKS, type TaskKind, type TaskExample, makeTask, makeTasks } from "../src/models/t5/tasks.js";
