export { Highway, type HighwayOptions, type HighwayActivation } from "./highway.js";
export { Residual } from "./residual.js";
export { DenseBlock } from "./dense.js";
