/** Inspection of safetensors headers for the inspector: module tree, totals and per-tensor statistics. */
export { decoderFor, type Decoder } from './decode.js';
export {
  computeTensorStats, DEFAULT_HISTOGRAM_BINS, StatsCancelledError, TensorNotFoundError,
  type Histogram, type StatsOptions, type TensorStats,
} from './stats.js';
export { buildModuleTree, totalsByDType, type DTypeTotal, type InspectedTensor, type ModuleNode } from './tree.js';
export { searchRows, visibleRows, type TreeRow } from './rows.js';
