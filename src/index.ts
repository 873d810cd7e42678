/** The public API of the core, shared by the command line and the VS Code extension. */
export * from './plan/types';
export type { DType, SafetensorsHeader, TensorInfo } from './safetensors/types';
export { DTYPE_BITS, RangeReader, readHeader, SafetensorsError, tensorByteSize } from './safetensors';
export { checkRules, compileFilter, FilterRuleError, layerIndexOf, withinMaxLayers, type CompiledFilter } from './filter';
export { DefuserError, silentLogger, type DefuserErrorKind, type Logger } from './errors';
export { openCheckpoint, INDEX_FILE, SINGLE_FILE, type Checkpoint } from './checkpoint/open';
export { buildPlan, findCandidates, planDefusion, type PlanOptions } from './plan/plan';
export { Planner } from './plan/planner';
export { collapseExpertNames, formatIndexRanges, type CollapsedName } from './plan/collapse';
export { convertCheckpoint, type ConvertOptions, type ConvertProgress, type ConvertResult } from './convert/convert';
export { formatBytes } from './convert/output';
export { modelSpec, supportedModelTypes } from './models/registry';
