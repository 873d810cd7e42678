/** The `defuser` command line: inspect, plan and convert checkpoints without VS Code. */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openCheckpoint } from './checkpoint/open';
import { formatHeader, formatPlan, formatProgress } from './cli/format';
import { convertCheckpoint } from './convert/convert';
import { formatBytes } from './convert/output';
import { DefuserError, type Logger } from './errors';
import { FilterRuleError } from './filter';
import { planDefusion } from './plan/plan';
import { readHeader, SafetensorsError } from './safetensors';

const VERSION = '0.1.0';

const HELP: Record<string, string> = {
  main: `Usage: defuser <command> [options]

Split fused Mixture-of-Experts and MLP weights of a Hugging Face safetensors checkpoint
into per-expert, per-projection tensors, without loading the model.

Commands:
  inspect <file|folder>   Print safetensors headers: metadata, dtypes, tensors
  plan <folder>           Show what convert would do: candidates, decisions, tensor diff
  convert <folder>        Write the defused checkpoint to a new folder

Run "defuser <command> --help" for the options of a command.
Options: --help, --version, --verbose (print stack traces on errors)`,
  inspect: `Usage: defuser inspect <file|folder> [--json]

Prints the header of a .safetensors file, or of every shard of a checkpoint folder,
reading no tensor data.

Options:
  --json        Print the headers as JSON
  --verbose     Print stack traces on errors`,
  plan: `Usage: defuser plan <folder> [--filter RULE]... [--max-layers N] [--unchanged] [--json]

Plans the defusion from the headers alone and prints the tensor diff.

Options:
  --filter RULE     Filter rule, repeatable: "+:regex" includes, "-:regex" excludes, a bare
                    regex includes; PCRE syntax, matched (searched) against module paths such
                    as model.layers.0.mlp.experts. Negative rules win. Without --filter every
                    fused module is defused.
  --max-layers N    Defuse only modules whose layers.<n> index is below N
  --unchanged       Also list the unchanged tensors
  --json            Print the plan as JSON
  --verbose         Print stack traces on errors`,
  convert: `Usage: defuser convert <folder> --out <dir> [--filter RULE]... [--max-layers N] [--overwrite] [--verify] [--json]

Writes a defused copy of the checkpoint to <dir>. The source is only read. Output is written
to a temporary folder beside <dir> and renamed into place when complete; on error or Ctrl-C
it is removed.

Options:
  --out DIR          Output folder (required); must not be inside the source
  --filter RULE      Filter rule, repeatable (see "defuser plan --help")
  --max-layers N     Defuse only modules whose layers.<n> index is below N
  --overwrite        Replace DIR if it exists and is not empty
  --verify           Re-read every written tensor and compare it with the source bytes
  --symlink-other-files  Symlink config, tokenizer and other files instead of copying them
  --json             Print the result as JSON
  --verbose          Print debug log lines and stack traces on errors`,
};

class UsageError extends Error {}

/** Safetensors errors that mean a truncated or corrupted file rather than a wrong choice of file. */
const DAMAGED_FILE_KINDS = new Set<string>([
  'header-too-small', 'header-too-large', 'invalid-header-start', 'invalid-header', 'duplicate-key', 'invalid-metadata',
  'invalid-tensor-info', 'invalid-shape', 'invalid-offset', 'tensor-size-mismatch', 'not-fully-covered', 'overflow', 'truncated',
]);

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  filter: { type: 'string', multiple: true },
  'max-layers': { type: 'string' },
  out: { type: 'string', short: 'o' },
  overwrite: { type: 'boolean' },
  verify: { type: 'boolean' },
  unchanged: { type: 'boolean' },
  'symlink-other-files': { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

/** Options that take a value; their values may start with "-", as negative rules ("-:regex") do. */
const VALUE_OPTIONS = new Set(['--filter', '--out', '-o', '--max-layers']);

/**
 * Joins `--filter -:regex` into `--filter=-:regex`. Node's parseArgs rejects a separate value that
 * starts with "-" as ambiguous, which would make every negative filter rule need the `=` form.
 */
function joinOptionValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const value = argv[index + 1];
    if (VALUE_OPTIONS.has(argument) && value !== undefined && value.startsWith('-') && value !== '--') {
      joined.push(argument.startsWith('--') ? `${argument}=${value}` : `--out=${value}`);
      index += 1;
    } else {
      joined.push(argument);
    }
  }
  return joined;
}

function parseMaxLayers(value: string | undefined): number | null {
  if (value === undefined) return null;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`Invalid --max-layers value "${value}": expected a whole number of at least 1.`);
  }
  return number;
}

function stderrLogger(verbose: boolean): Logger {
  return {
    debug: (message) => { if (verbose) process.stderr.write(`debug: ${message}\n`); },
    info: (message) => { if (verbose) process.stderr.write(`${message}\n`); },
    warn: (message) => process.stderr.write(`warning: ${message}\n`),
    error: (message) => { if (verbose) process.stderr.write(`error: ${message}\n`); },
  };
}

async function inspect(target: string, json: boolean): Promise<void> {
  const headers = target.endsWith('.safetensors')
    ? [await readHeader(path.resolve(target))]
    : [...(await openCheckpoint(target)).headers.values()];
  if (json) {
    process.stdout.write(`${JSON.stringify(headers.map((header) => ({ ...header, byName: undefined })), null, 2)}\n`);
    return;
  }
  const base = path.dirname(path.resolve(target));
  process.stdout.write(`${headers.map((header) => formatHeader(header, base)).join('\n\n')}\n`);
}

async function plan(target: string, filter: readonly string[] | null, maxLayers: number | null, json: boolean, unchanged: boolean): Promise<void> {
  const checkpoint = await openCheckpoint(target);
  const result = await planDefusion(checkpoint, { filter, maxLayers });
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPlan(result, unchanged)}\n`);
}

async function convert(target: string, values: { out?: string; filter?: string[]; overwrite?: boolean; verify?: boolean; json?: boolean; verbose?: boolean; 'symlink-other-files'?: boolean }, maxLayers: number | null): Promise<void> {
  if (!values.out) throw new UsageError('Missing --out DIR: the folder to write the defused checkpoint to.');
  const checkpoint = await openCheckpoint(target);
  const result = await planDefusion(checkpoint, { filter: values.filter ?? null, maxLayers });
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const terminal = process.stderr.isTTY === true && !values.json;
  const startedAt = Date.now();
  let lastPlainLine = 0;
  try {
    const written = await convertCheckpoint(checkpoint, result, {
      outDir: values.out,
      overwrite: values.overwrite ?? false,
      verify: values.verify ?? false,
      otherFiles: values['symlink-other-files'] ? 'symlink' : 'copy',
      signal: controller.signal,
      logger: stderrLogger(values.verbose ?? false),
      onProgress: (progress) => {
        if (values.json) return;
        if (terminal) {
          process.stderr.write(`\r${formatProgress(progress, startedAt, true)}\x1b[K`);
        } else if (Date.now() - lastPlainLine >= 2000 || progress.bytesDone === progress.bytesTotal) {
          lastPlainLine = Date.now();
          process.stderr.write(`${formatProgress(progress, startedAt, false)}\n`);
        }
      },
    });
    if (terminal) process.stderr.write('\n');
    if (values.json) {
      process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
    } else {
      const defused = result.candidates.filter((candidate) => candidate.decision.kind === 'defuse').length;
      const rate = written.seconds > 0 ? `, ${(written.bytesWritten / written.seconds / 1e6).toFixed(0)} MB/s` : '';
      process.stdout.write(`Wrote ${written.outDir}: ${defused} module(s) defused, ${written.tensorsWritten} tensors, ${formatBytes(written.bytesWritten)} in ${written.seconds.toFixed(1)} s${rate}${written.verified ? ', verified byte for byte' : ''}.\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs the command line with the given arguments and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values, positionals } = parseArgs({ args: joinOptionValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
    verbose = values.verbose ?? false;
    const [command, target, ...extra] = positionals;
    if (values.version) {
      process.stdout.write(`defuser ${VERSION}\n`);
      return 0;
    }
    if (!command || (values.help && !HELP[command])) {
      process.stdout.write(`${HELP['main']}\n`);
      return command || values.help ? 0 : 2;
    }
    if (!HELP[command] || command === 'main') throw new UsageError(`Unknown command "${command}". Commands: inspect, plan, convert.`);
    if (values.help) {
      process.stdout.write(`${HELP[command]}\n`);
      return 0;
    }
    if (!target) throw new UsageError(`Missing the checkpoint path. Usage: ${HELP[command]!.split('\n')[0]!.replace('Usage: ', '')}`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}". Quote filter rules and pass each with --filter.`);
    const maxLayers = parseMaxLayers(values['max-layers']);
    switch (command) {
      case 'inspect':
        await inspect(target, values.json ?? false);
        break;
      case 'plan':
        await plan(target, values.filter ?? null, maxLayers, values.json ?? false, values.unchanged ?? false);
        break;
      case 'convert':
        await convert(target, values, maxLayers);
        break;
    }
    return 0;
  } catch (error) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`defuser: ${error.message}\nRun "defuser --help" for usage.\n`);
      return 2;
    }
    const known = error instanceof DefuserError || error instanceof SafetensorsError || error instanceof FilterRuleError;
    if (error instanceof DefuserError && error.kind === 'cancelled') {
      process.stderr.write('defuser: cancelled; the partial output was removed.\n');
      return 130;
    }
    process.stderr.write(`defuser: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof SafetensorsError && DAMAGED_FILE_KINDS.has(error.kind)) {
      process.stderr.write('The file is damaged or incomplete. Download it again (for example with huggingface-cli download) and retry.\n');
    }
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    else if (!known) process.stderr.write('Run again with --verbose for the stack trace.\n');
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
    process.stderr.write(`defuser: ${String(error)}\n`);
    process.exitCode = 1;
  });
}
