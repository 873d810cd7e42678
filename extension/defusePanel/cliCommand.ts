/** The `defuser convert` command line equivalent to the panel's settings, for "Copy CLI command". */
import type { ConvertParams } from '../../webview/protocol/messages';

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell: single quotes, with each `'` written as `'\''`. */
export function shellQuote(word: string): string {
  if (SAFE_WORD.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Builds the command line. Each rule becomes one `--filter` argument, so rules containing spaces or quotes
 * survive. NOTE: the quoting is for POSIX shells; PowerShell and cmd.exe quote differently.
 */
export function buildCliCommand(checkpointPath: string, params: ConvertParams): string {
  const words = ['defuser', 'convert', checkpointPath, '--out', params.outDir];
  for (const rule of params.rules ?? []) {
    words.push('--filter', rule);
  }
  if (params.maxLayers !== null) {
    words.push('--max-layers', String(params.maxLayers));
  }
  if (params.overwrite) {
    words.push('--overwrite');
  }
  return words.map(shellQuote).join(' ');
}
