/**
 * The Oniguruma regex engine (VS Code's WASM build) behind the filter rules: one lazy WASM load per
 * process and a small cache of compiled scanners keyed by the translated pattern.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';

// Numeric values of the `Syntax` and `FindOption` const enums in vscode-oniguruma's typings. They are
// spelled out because bundlers and `tsx` compile files one at a time and cannot inline an ambient const
// enum, which would leave `undefined` at run time.
/** ONIG_SYNTAX_PERL_NT: Perl syntax with named groups, the Oniguruma syntax closest to PCRE. */
const SYNTAX_PERL_NT = 9 as oniguruma.Syntax;
/** ONIG_OPTION_CAPTURE_GROUP: plain `(...)` groups capture even when named groups exist, as in PCRE. */
const OPTION_CAPTURE_GROUP = 10 as oniguruma.FindOption;

const SCANNER_CONFIG: oniguruma.IOnigScannerConfig = { syntax: SYNTAX_PERL_NT, options: [OPTION_CAPTURE_GROUP] };

/** Compiled scanners kept for reuse; past this count the least recently used one is freed. */
const MAX_CACHED_SCANNERS = 256;

let loading: Promise<void> | null = null;
const scanners = new Map<string, oniguruma.OnigScanner>();

/**
 * Where `onig.wasm` is: beside the bundle in `dist/` (the build copies it there, and an installed
 * extension has no node_modules), else in the vscode-oniguruma package when running from source.
 */
function wasmPath(): string {
  const bundled = path.join(__dirname, 'onig.wasm');
  return existsSync(bundled) ? bundled : require.resolve('vscode-oniguruma/release/onig.wasm');
}

/** Loads the Oniguruma WASM module once; later calls share the same promise. */
export function loadEngine(): Promise<void> {
  if (loading === null) {
    loading = readFile(wasmPath())
      .then((data) => oniguruma.loadWASM(data))
      .catch((error: unknown) => {
        // Forget the failure so that a later call can try again (for example after a reinstall).
        loading = null;
        throw error;
      });
  }
  return loading;
}

/**
 * Returns the scanner for an Oniguruma pattern (compiled with the PCRE-like syntax), compiling it on a
 * cache miss. Throws the engine's `Error` when the pattern does not compile. Call only after
 * `loadEngine()` has resolved. Callers must not keep the scanner: the cache may free it later.
 */
export function scannerFor(source: string): oniguruma.OnigScanner {
  const cached = scanners.get(source);
  if (cached !== undefined) {
    // Re-insert to mark it as most recently used.
    scanners.delete(source);
    scanners.set(source, cached);
    return cached;
  }
  const scanner = new oniguruma.OnigScanner([source], SCANNER_CONFIG);
  scanners.set(source, scanner);
  if (scanners.size > MAX_CACHED_SCANNERS) {
    const oldest = scanners.keys().next().value as string;
    scanners.get(oldest)?.dispose();
    scanners.delete(oldest);
  }
  return scanner;
}

/** Returns the engine's compile error message for a pattern, or null when it compiles (and is cached). */
export function compileErrorOf(source: string): string | null {
  try {
    scannerFor(source);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Like `compileErrorOf`, but frees the scanner instead of caching it, for one-off probes. */
export function tryCompile(source: string): string | null {
  try {
    new oniguruma.OnigScanner([source], SCANNER_CONFIG).dispose();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs `body` with a WASM copy of `text`, freed afterwards. */
export function withOnigString<T>(text: string, body: (subject: oniguruma.OnigString) => T): T {
  const subject = new oniguruma.OnigString(text);
  try {
    return body(subject);
  } finally {
    subject.dispose();
  }
}

/**
 * Whether the Oniguruma pattern matches anywhere in the subject (a search, not anchored).
 * NOTE: vscode-oniguruma returns no match when a search exceeds Oniguruma's backtracking limit, while
 * PCRE2 (and so Defuser) raises "match limit exceeded". On module paths only patterns with nested
 * unbounded repeats, such as `(?:.+)*x`, reach that limit.
 */
export function searchMatches(source: string, subject: oniguruma.OnigString): boolean {
  return scannerFor(source).findNextMatchSync(subject, 0) !== null;
}

/** Number of scanners currently cached, for tests of the cache bound. */
export function cachedScannerCount(): number {
  return scanners.size;
}
