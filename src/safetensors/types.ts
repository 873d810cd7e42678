/**
 * Shared types of the safetensors module. The format: an 8-byte little-endian header length N,
 * N bytes of JSON header, then the data area. Offsets in the header are relative to the data area.
 */

/** Every dtype of the reference Rust implementation (safetensors 0.8). */
export type DType =
  | 'BOOL' | 'F4' | 'F6_E2M3' | 'F6_E3M2' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0'
  | 'F8_E4M3FNUZ' | 'F8_E5M2FNUZ' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32'
  | 'C64' | 'F64' | 'I64' | 'U64';

/** One tensor entry of a header, with offsets relative to the start of the data area. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** First byte, relative to the data area. */
  readonly begin: number;
  /** One past the last byte, relative to the data area. */
  readonly end: number;
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Path of the file the header was read from. */
  readonly file: string;
  /** Size of the whole file in bytes. */
  readonly fileSize: number;
  /** Length of the JSON header (N), without the 8-byte prefix. */
  readonly headerLength: number;
  /** Absolute file offset of the data area: 8 + N. */
  readonly dataOffset: number;
  /** The `__metadata__` map, or null when absent, `{}` or `null`. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensors in the order the header lists them. */
  readonly tensors: readonly TensorInfo[];
  /** The same tensors by name. */
  readonly byName: ReadonlyMap<string, TensorInfo>;
}
