export { LSTM, GRU, RNN, type LSTMOptions, type GRUOptions, type RNNOptions } from "./layers.js";
export { LSTMCell, GRUCell, RNNCell, type CellOptions, type GRUCellOptions, type RNNCellOptions } from "./cells.js";
export {
  RecurrentBase, type RecurrentGrad, type RecurrentOptions, type ForwardOptions, type MergeMode, type RecurrentImpl,
} from "./base.js";
export { type SkipMode } from "./skip.js";
export { type Lengths } from "./validate.js";
export { truncatedBPTT, type TBPTTOptions } from "./tbptt.js";
