/** Test helpers that build safetensors bytes by hand and manage temporary folders. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError, type SafetensorsErrorKind } from '../../../src/safetensors/index.js';

/** Options of `fileBytes` for building malformed files. */
export interface FileBytesOptions {
  /** Bytes appended to the JSON inside the header length, such as spaces or NUL bytes. */
  readonly padding?: string;
  /** A length prefix to write instead of the true header length. */
  readonly lengthPrefix?: bigint;
}

/**
 * Builds a safetensors file from header JSON text and a data area. This encoder is written apart from
 * the module's writer so that tests can compare the two.
 */
export function fileBytes(json: string, data: Uint8Array | number = 0, options: FileBytesOptions = {}): Uint8Array {
  const header = Buffer.from(json + (options.padding ?? ''), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + header.length + body.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, options.lengthPrefix ?? BigInt(header.length), true);
  out.set(header, 8);
  out.set(body, 8 + header.length);
  return out;
}

/** Creates a fresh folder under the system temp folder. */
export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'defuser-safetensors-'));
}

/** Removes a folder made by `makeTempDir`. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes bytes to a new file in `dir` and returns its path. */
export async function writeTempFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Asserts that `error` is a SafetensorsError of `kind` whose message contains every one of `parts`. */
export function assertSafetensorsError(error: unknown, kind: SafetensorsErrorKind, parts: readonly string[]): void {
  assert.ok(error instanceof SafetensorsError, `expected a SafetensorsError, got ${String(error)}`);
  assert.equal(error.kind, kind, `wrong kind for message: ${error.message}`);
  for (const part of parts) {
    assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
  }
}

/** Calls `action`, asserts that it throws or rejects with a SafetensorsError of `kind` and returns that error. */
export async function expectSafetensorsError(
  action: () => unknown,
  kind: SafetensorsErrorKind,
  parts: readonly string[] = [],
): Promise<SafetensorsError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  assert.notEqual(caught, undefined, `expected a ${kind} error, but nothing was thrown`);
  assertSafetensorsError(caught, kind, parts);
  return caught as SafetensorsError;
}

export { mulberry32, randomInt } from './random';
