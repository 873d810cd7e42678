/** Parsing and validation of safetensors headers, following the rules of the reference Rust crate. */
import { DTYPES, isDType, tensorByteSize } from './dtypes.js';
import { SafetensorsError, invalidFile } from './errors.js';
import { JsonSyntaxError, parseJsonValue, type JsonValue } from './header-json.js';
import { RangeReader } from './reader.js';
import type { DType, SafetensorsHeader, TensorInfo } from './types.js';

/** Largest accepted header length N in bytes, the cap of the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The first line of every Git LFS pointer file. */
const LFS_SIGNATURE = 'version https://git-lfs.github.com/spec/v1';

/** Bytes that `readHeader` reads first: the length prefix plus enough to recognise a Git LFS pointer. */
const SNIFF_BYTES = 64;

const METADATA_KEY = '__metadata__';
const TENSOR_KEYS = ['dtype', 'shape', 'data_offsets'] as const;
const INTEGER_TEXT = /^(?:0|[1-9]\d*)$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function isLfsPointer(prefix: Uint8Array): boolean {
  if (prefix.length < LFS_SIGNATURE.length) return false;
  for (let i = 0; i < LFS_SIGNATURE.length; i++) {
    if (prefix[i] !== LFS_SIGNATURE.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Checks the 8-byte length prefix against the file size and the 100 MB cap, before anything of size N is
 * allocated, and returns N. `prefix` contains the first bytes of the file (at least 8 when the file has them).
 */
export function checkHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  // An LFS pointer is checked first, because its text read as a length prefix is a huge number.
  if (isLfsPointer(prefix)) {
    throw invalidFile(
      'lfs-pointer',
      file,
      'this is a Git LFS pointer file, not the tensor data. Run "git lfs pull" in the repository, or download the file again.',
    );
  }
  if (fileSize < 8 || prefix.length < 8) {
    throw invalidFile('header-too-small', file, `the file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  }

  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw invalidFile('header-too-large', file, `the header length prefix is ${length} bytes, more than the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (8n + length > BigInt(fileSize)) {
    throw invalidFile(
      'invalid-header',
      file,
      `the header length prefix is ${length} bytes, but the file has only ${fileSize - 8} bytes after the 8-byte prefix (file size ${fileSize})`,
    );
  }
  return Number(length);
}

/** Renders a JSON value for an error message, cut to a readable length. */
function show(value: JsonValue): string {
  const text = render(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function render(value: JsonValue): string {
  switch (value.type) {
    case 'object':
      return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}: ${render(item)}`).join(', ')}}`;
    case 'array':
      return `[${value.items.map(render).join(', ')}]`;
    case 'string':
      return JSON.stringify(value.value);
    case 'number':
      return value.text;
    case 'boolean':
      return String(value.value);
    case 'null':
      return 'null';
  }
}

/** Returns an object's entries after checking that no key repeats. `owner` names the object in the error message. */
function uniqueEntries(
  entries: ReadonlyArray<readonly [string, JsonValue]>,
  file: string,
  owner: string,
  tensor: string | undefined,
): ReadonlyArray<readonly [string, JsonValue]> {
  const seen = new Set<string>();
  for (const [key] of entries) {
    if (seen.has(key)) {
      throw invalidFile('duplicate-key', file, `${owner} has the key ${JSON.stringify(key)} more than once`, tensor ?? (owner === 'the header' ? key : undefined));
    }
    seen.add(key);
  }
  return entries;
}

function parseMetadata(value: JsonValue, file: string): Readonly<Record<string, string>> | null {
  if (value.type === 'null') return null;
  if (value.type !== 'object') {
    throw invalidFile('invalid-metadata', file, `"__metadata__" is ${show(value)}, but it must be an object of string values or null`);
  }
  const entries = uniqueEntries(value.entries, file, '"__metadata__"', undefined);
  if (entries.length === 0) return null;

  const pairs: Array<[string, string]> = [];
  for (const [key, item] of entries) {
    if (item.type !== 'string') {
      throw invalidFile('invalid-metadata', file, `"__metadata__" key ${JSON.stringify(key)} has the value ${show(item)}, but metadata values must be strings`);
    }
    pairs.push([key, item.value]);
  }
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.freeze(Object.fromEntries(pairs));
}

/** Parses a non-negative integer from its JSON digit text, or returns a description of why the value is not one. */
function parseIndex(value: JsonValue): number | string {
  if (value.type !== 'number') return `${show(value)} is not a number`;
  if (!INTEGER_TEXT.test(value.text)) return `${value.text} is not a non-negative integer`;
  // Compare the digits exactly, because Number() would round values above 2^53 to a different integer.
  if (BigInt(value.text) > MAX_SAFE) return `${value.text} is larger than 2^53-1`;
  return Number(value.text);
}

/** Validates one tensor entry on its own. `checkCoverage` checks the data area for all entries afterwards. */
function parseTensor(name: string, value: JsonValue, file: string): TensorInfo {
  const quoted = `tensor ${JSON.stringify(name)}`;
  if (value.type !== 'object') {
    throw invalidFile('invalid-tensor-info', file, `${quoted} is ${show(value)}, but it must be an object with "dtype", "shape" and "data_offsets"`, name);
  }

  const fields = new Map<string, JsonValue>();
  for (const [key, item] of uniqueEntries(value.entries, file, quoted, name)) {
    if (!(TENSOR_KEYS as readonly string[]).includes(key)) {
      throw invalidFile('invalid-tensor-info', file, `${quoted} has the unknown key ${JSON.stringify(key)}. A tensor entry has only "dtype", "shape" and "data_offsets"`, name);
    }
    fields.set(key, item);
  }
  for (const key of TENSOR_KEYS) {
    if (!fields.has(key)) {
      throw invalidFile('invalid-tensor-info', file, `${quoted} has no "${key}" key`, name);
    }
  }

  const dtypeValue = fields.get('dtype') as JsonValue;
  if (dtypeValue.type !== 'string') {
    throw invalidFile('invalid-tensor-info', file, `${quoted} has dtype ${show(dtypeValue)}, which is not a string`, name);
  }
  if (!isDType(dtypeValue.value)) {
    throw invalidFile(
      'unknown-dtype',
      file,
      `${quoted} has dtype ${JSON.stringify(dtypeValue.value)}, which is not a known dtype (known: ${DTYPES.join(', ')})`,
      name,
    );
  }
  const dtype: DType = dtypeValue.value;

  const shapeValue = fields.get('shape') as JsonValue;
  if (shapeValue.type !== 'array') {
    throw invalidFile('invalid-shape', file, `${quoted} has shape ${show(shapeValue)}, which is not an array of non-negative integers`, name);
  }
  const shape: number[] = [];
  for (const item of shapeValue.items) {
    const dim = parseIndex(item);
    if (typeof dim === 'string') {
      throw invalidFile('invalid-shape', file, `${quoted} has shape ${show(shapeValue)}, but dimension ${dim}`, name);
    }
    shape.push(dim);
  }

  const offsetsValue = fields.get('data_offsets') as JsonValue;
  if (offsetsValue.type !== 'array' || offsetsValue.items.length !== 2) {
    throw invalidFile('invalid-offset', file, `${quoted} has data_offsets ${show(offsetsValue)}, which is not a pair [begin, end]`, name);
  }
  const [begin, end] = offsetsValue.items.map(parseIndex);
  for (const offset of [begin, end]) {
    if (typeof offset === 'string') {
      throw invalidFile('invalid-offset', file, `${quoted} has data_offsets ${show(offsetsValue)}, but ${offset}`, name);
    }
  }
  const first = begin as number;
  const last = end as number;
  if (first > last) {
    throw invalidFile('invalid-offset', file, `${quoted} has data_offsets [${first}, ${last}], whose begin is after its end`, name);
  }

  let bytes: number;
  try {
    bytes = tensorByteSize(dtype, shape);
  } catch (error) {
    if (error instanceof SafetensorsError) {
      throw invalidFile(error.kind, file, `${quoted}: ${error.message}`, name);
    }
    throw error;
  }
  if (bytes !== last - first) {
    throw invalidFile(
      'tensor-size-mismatch',
      file,
      `${quoted} has dtype ${dtype} and shape [${shape.join(', ')}], which take ${bytes} bytes, but its data_offsets [${first}, ${last}] span ${last - first} bytes`,
      name,
    );
  }
  return Object.freeze({ name, dtype, shape: Object.freeze(shape), begin: first, end: last });
}

/**
 * Checks that the tensors tile the data area [0, dataLength) exactly: no tensor past the end, no overlap,
 * no hole and no trailing bytes. Zero-size tensors may sit at any offset up to dataLength.
 */
function checkCoverage(tensors: readonly TensorInfo[], dataLength: number, file: string): void {
  for (const tensor of tensors) {
    if (tensor.end > dataLength) {
      throw invalidFile(
        'invalid-offset',
        file,
        `tensor ${JSON.stringify(tensor.name)} has data_offsets [${tensor.begin}, ${tensor.end}], which end past the data area of ${dataLength} bytes`,
        tensor.name,
      );
    }
  }

  const filled = tensors.filter((tensor) => tensor.end > tensor.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: TensorInfo | undefined;
  for (const tensor of filled) {
    if (tensor.begin < cursor && previous !== undefined) {
      throw invalidFile(
        'invalid-offset',
        file,
        `tensors ${JSON.stringify(previous.name)} [${previous.begin}, ${previous.end}] and ${JSON.stringify(tensor.name)} [${tensor.begin}, ${tensor.end}] overlap`,
        tensor.name,
      );
    }
    if (tensor.begin > cursor) {
      throw invalidFile(
        'not-fully-covered',
        file,
        `bytes [${cursor}, ${tensor.begin}) of the data area belong to no tensor (the gap before tensor ${JSON.stringify(tensor.name)})`,
        tensor.name,
      );
    }
    cursor = tensor.end;
    previous = tensor;
  }
  if (cursor < dataLength) {
    throw invalidFile(
      'not-fully-covered',
      file,
      `bytes [${cursor}, ${dataLength}) at the end of the data area belong to no tensor (${dataLength - cursor} trailing bytes)`,
    );
  }
}

/** Decodes the header bytes and parses the JSON object, allowing only spaces before and after it. */
function parseHeaderJson(bytes: Uint8Array, file: string): JsonValue {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new SafetensorsError('invalid-header', `Invalid safetensors file ${file}: the header is not valid UTF-8`, { file, cause: error });
  }

  let start = 0;
  while (start < text.length && text[start] === ' ') start++;
  if (start === text.length) {
    throw invalidFile('invalid-header-start', file, `the header is empty (${bytes.length} bytes, all spaces)`);
  }
  if (text[start] !== '{') {
    const code = text.codePointAt(start) ?? 0;
    throw invalidFile(
      'invalid-header-start',
      file,
      `the header must start with "{" but starts with ${JSON.stringify(String.fromCodePoint(code))} (U+${code.toString(16).toUpperCase().padStart(4, '0')})`,
    );
  }

  let parsed: { value: JsonValue; end: number };
  try {
    parsed = parseJsonValue(text, start);
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new SafetensorsError('invalid-header', `Invalid safetensors file ${file}: the header is not valid JSON at character ${error.position}: ${error.message}`, {
        file,
        cause: error,
      });
    }
    throw error;
  }

  for (let i = parsed.end; i < text.length; i++) {
    const c = text[i];
    if (c === ' ') continue;
    if (c === '\0') {
      throw invalidFile('invalid-header', file, `the header is padded with NUL bytes after the closing "}" (character ${i}). Only spaces are allowed as padding`);
    }
    throw invalidFile('invalid-header', file, `the header has ${JSON.stringify(c)} after the closing "}" (character ${i}). Only spaces are allowed there`);
  }
  return parsed.value;
}

/** Validates a header given the first bytes of a file (at least 8 + N) and the total file size. */
export function parseHeader(prefix: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new RangeError(`fileSize must be a non-negative safe integer, got ${fileSize}`);
  }
  const headerLength = checkHeaderLength(prefix, fileSize, file);
  if (prefix.length < 8 + headerLength) {
    throw new SafetensorsError(
      'truncated',
      `Cannot parse the header of ${file}: ${prefix.length} bytes were given, but the header needs ${8 + headerLength}`,
      { file },
    );
  }

  const root = parseHeaderJson(prefix.subarray(8, 8 + headerLength), file);
  if (root.type !== 'object') {
    // Unreachable while the start check requires "{", and kept so that the type narrows.
    throw invalidFile('invalid-header', file, 'the header is not a JSON object');
  }

  let metadata: Readonly<Record<string, string>> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [key, value] of uniqueEntries(root.entries, file, 'the header', undefined)) {
    if (key === METADATA_KEY) {
      metadata = parseMetadata(value, file);
    } else {
      tensors.push(parseTensor(key, value, file));
    }
  }

  const dataOffset = 8 + headerLength;
  checkCoverage(tensors, fileSize - dataOffset, file);

  return Object.freeze({
    file,
    fileSize,
    headerLength,
    dataOffset,
    metadata,
    tensors: Object.freeze(tensors),
    byName: new Map(tensors.map((tensor) => [tensor.name, tensor])),
  });
}

/** Reads and validates only the header of a file (never tensor data). */
export async function readHeader(file: string): Promise<SafetensorsHeader> {
  const reader = await RangeReader.open(file);
  try {
    const fileSize = await reader.size();
    const sniff = new Uint8Array(Math.min(fileSize, SNIFF_BYTES));
    await reader.readInto(0, sniff.length, sniff);
    const headerLength = checkHeaderLength(sniff, fileSize, file);

    const prefix = new Uint8Array(8 + headerLength);
    await reader.readInto(0, prefix.length, prefix);
    return parseHeader(prefix, fileSize, file);
  } finally {
    await reader.close();
  }
}
