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

/** Settings that have a command line equivalent but are not part of the panel's request. */
export interface CliOptions {
  /** Adds `--verify`, as the `defuser.verifyAfterWrite` setting does for the panel. */
  readonly verify: boolean;
}

/** A panel state that the `defuser` command line cannot express. */
export class CliCommandError extends Error {
  /** Stable kind for the webview's error display. */
  readonly kind = 'no-cli-equivalent';

  constructor(message: string) {
    super(message);
    this.name = 'CliCommandError';
  }
}

/**
 * Builds the command line. Each rule becomes one `--filter` argument, so rules containing spaces or quotes
 * survive. Throws CliCommandError for an empty rule list, because `defuser` without `--filter` defuses
 * everything. NOTE: the quoting is for POSIX shells; PowerShell and cmd.exe quote differently.
 */
export function buildCliCommand(checkpointPath: string, params: ConvertParams, options: CliOptions = { verify: false }): string {
  if (params.rules !== null && params.rules.length === 0) {
    throw new CliCommandError('The empty rule list defuses nothing and the defuser command has no equivalent for it. '
      + 'Add a rule, or choose "Defuse every candidate".');
  }
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
  if (options.verify) {
    words.push('--verify');
  }
  return words.map(shellQuote).join(' ');
}
