/** The safetensors module: dtype table, header parsing and validation, range reads and a streaming writer. */
export type { DType, SafetensorsHeader, TensorInfo } from './types.js';
export { DTYPE_BITS, DTYPES, elementCount, isDType, tensorByteSize, type SizeLocation } from './dtypes.js';
export { SafetensorsError, type SafetensorsErrorKind, type SafetensorsErrorOptions } from './errors.js';
export { MAX_HEADER_BYTES, parseHeader, readHeader } from './header.js';
export { DEFAULT_CHUNK_BYTES, RangeReader } from './reader.js';
export { SafetensorsWriter, type WriterTensorSpec } from './writer.js';
