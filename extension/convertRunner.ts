/**
 * Runs a conversion from the host: a cancellable progress notification, the core's convertCheckpoint with
 * an AbortSignal, and one short message at the end. The defuse panel and the commands share it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DefuserError, convertCheckpoint, openCheckpoint,
  type Checkpoint, type ConvertProgress, type ConvertResult, type Plan,
} from '../src/index';
import { formatBytes, formatRate } from './format';
import { describeError, taggedLogger } from './log';
import { revealFolder } from './revealFolder';
import type { OtherFilesMode } from './settings';

/** Dependencies the runner takes from the extension. */
export interface ConversionDeps {
  readonly log: vscode.LogOutputChannel;
}

/** Options of one conversion. */
export interface ConversionOptions {
  readonly outDir: string;
  readonly overwrite?: boolean;
  readonly verify?: boolean;
  readonly otherFiles?: OtherFilesMode;
  /** Aborts the conversion like the notification's Cancel button. */
  readonly signal?: AbortSignal;
  /** Receives every progress report of the core (the panel mirrors them). */
  readonly onProgress?: (progress: ConvertProgress) => void;
  /** Ask before replacing an existing output folder; without it, an existing folder is an error. */
  readonly confirmOverwrite?: boolean;
  /** Show the final success or error message (the headless command turns it off). */
  readonly notify?: boolean;
}

// The notification text changes at most this often; the core may report far more often.
const PROGRESS_INTERVAL_MS = 200;

/** The workspace is not trusted, so nothing is written. */
export class RestrictedModeError extends Error {
  constructor() {
    super('Converting is disabled in Restricted Mode; trust the workspace to write converted checkpoints.');
    this.name = 'RestrictedModeError';
  }
}

/** Returns whether an error is the core's (or the signal's) report of a cancellation. */
export function isCancellation(error: unknown): boolean {
  return (error instanceof DefuserError && error.kind === 'cancelled')
    || (error instanceof Error && error.name === 'AbortError');
}

/**
 * Converts with a progress notification and throws what the core throws. Cancelling the notification or
 * aborting `options.signal` aborts the core, which removes its temporary folder.
 */
export async function executeConversion(
  deps: ConversionDeps, source: Checkpoint | string, plan: Plan, options: ConversionOptions,
): Promise<ConvertResult> {
  if (!vscode.workspace.isTrusted) throw new RestrictedModeError();
  const log = taggedLogger(deps.log, 'convert');
  const checkpoint = typeof source === 'string' ? await openCheckpoint(source) : source;
  log.info(`converting ${checkpoint.root} into ${options.outDir}`);

  return vscode.window.withProgress({
    location: vscode.ProgressLocation.Notification,
    title: vscode.l10n.t('Defusing {0}', path.basename(checkpoint.root)),
    cancellable: true,
  }, async (progress, token) => {
    const controller = new AbortController();
    const cancelListener = token.onCancellationRequested(() => {
      log.info('cancel requested from the notification');
      controller.abort();
    });
    const forwardAbort = (): void => controller.abort();
    if (options.signal?.aborted) controller.abort();
    options.signal?.addEventListener('abort', forwardAbort, { once: true });

    const started = Date.now();
    let lastReport = 0;
    let reportedPercent = 0;
    const onProgress = (report: ConvertProgress): void => {
      options.onProgress?.(report);
      const now = Date.now();
      if (now - lastReport < PROGRESS_INTERVAL_MS && report.bytesDone < report.bytesTotal) return;
      lastReport = now;
      const percent = report.bytesTotal > 0 ? (100 * report.bytesDone) / report.bytesTotal : 100;
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? formatRate(report.bytesDone / seconds) : '';
      progress.report({
        increment: Math.max(0, percent - reportedPercent),
        message: vscode.l10n.t('{0} of {1} · {2} · {3}', formatBytes(report.bytesDone), formatBytes(report.bytesTotal),
          rate, report.currentTensor ?? ''),
      });
      reportedPercent = Math.max(reportedPercent, percent);
    };

    try {
      const result = await convertCheckpoint(checkpoint, plan, {
        outDir: options.outDir,
        overwrite: options.overwrite ?? false,
        verify: options.verify ?? true,
        otherFiles: options.otherFiles ?? 'copy',
        signal: controller.signal,
        onProgress,
        logger: log,
      });
      log.info(`wrote ${result.tensorsWritten} tensors, ${formatBytes(result.bytesWritten)} in `
        + `${result.seconds.toFixed(1)} s into ${result.outDir}${result.verified ? ' (verified)' : ''}`);
      return result;
    } finally {
      cancelListener.dispose();
      options.signal?.removeEventListener('abort', forwardAbort);
    }
  });
}

/**
 * Converts like executeConversion and handles the outcome for the user. With confirmOverwrite it requests
 * confirmation before replacing an existing output folder. It shows the result with Open Folder, Reveal in
 * Explorer and Show Log, and turns errors into one short message. Returns undefined when cancelled or failed.
 */
export async function runConversion(
  deps: ConversionDeps, checkpointPath: string, plan: Plan, options: ConversionOptions,
): Promise<ConvertResult | undefined> {
  const notify = options.notify ?? true;
  let overwrite = options.overwrite ?? false;
  if (!overwrite && options.confirmOverwrite && fs.existsSync(options.outDir)) {
    const replace = vscode.l10n.t('Replace');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('The output folder {0} already exists. Replace it with the converted checkpoint?', options.outDir),
      { modal: true }, replace);
    if (choice !== replace) return undefined;
    overwrite = true;
  }

  try {
    const result = await executeConversion(deps, checkpointPath, plan, { ...options, overwrite });
    if (notify) void showDone(deps, result);
    return result;
  } catch (error) {
    if (isCancellation(error)) {
      deps.log.info('[convert] cancelled; the temporary output folder was removed');
      if (notify) void vscode.window.showInformationMessage(vscode.l10n.t('Conversion cancelled. Nothing was written.'));
      return undefined;
    }
    deps.log.error(`[convert] conversion of ${checkpointPath} failed: ${describeError(error)}`);
    if (notify) void showFailure(deps, error);
    return undefined;
  }
}

/** Shows the finished conversion with Open Folder, Reveal in Explorer and Show Log. */
export async function showDone(deps: ConversionDeps, result: ConvertResult): Promise<void> {
  const openFolder = vscode.l10n.t('Open Folder');
  const reveal = vscode.l10n.t('Reveal in Explorer');
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('Wrote {0} tensors ({1}) to {2}.', result.tensorsWritten, formatBytes(result.bytesWritten), result.outDir),
    openFolder, reveal, showLog);
  const uri = vscode.Uri.file(result.outDir);
  if (choice === openFolder) await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
  else if (choice === reveal) {
    await revealFolder(uri).catch((error: unknown) => {
      deps.log.warn(`[convert] revealing ${result.outDir} failed: ${describeError(error)}`);
      void vscode.window.showWarningMessage(error instanceof Error ? error.message : String(error));
    });
  }
  else if (choice === showLog) deps.log.show();
}

// Errors the user fixes by changing where the output goes.
const OUTPUT_SETTING_KINDS = new Set(['output-exists', 'output-inside-source']);

/** Shows one short error message with Show Log, plus Open Settings where a setting is the fix. */
export async function showFailure(deps: ConversionDeps, error: unknown): Promise<void> {
  const showLog = vscode.l10n.t('Show Log');
  const openSettings = vscode.l10n.t('Open Settings');
  const settingFix = error instanceof DefuserError && OUTPUT_SETTING_KINDS.has(error.kind);
  const message = error instanceof Error ? error.message : String(error);
  const choice = await vscode.window.showErrorMessage(vscode.l10n.t('Defuser: {0}', message),
    ...(settingFix ? [showLog, openSettings] : [showLog]));
  if (choice === showLog) deps.log.show();
  else if (choice === openSettings) await vscode.commands.executeCommand('workbench.action.openSettings', 'defuser.outputFolder');
}
