/** The commands of package.json and their handlers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openCheckpoint, planDefusion, type ConvertProgress, type ConvertResult } from '../src/index';
import { executeConversion, isCancellation, showFailure } from './convertRunner';
import { openDefusePanel } from './panelHost';
import { describeError } from './log';
import { resolveOutputFolder } from './outputFolder';
import { readSettings, type OtherFilesMode } from './settings';
import { INDEX_INSPECTOR_VIEW_TYPE, INSPECTOR_VIEW_TYPE } from './inspector/inspectorProvider';

/** Command ids, as package.json declares them. */
export const COMMANDS = {
  defuseCheckpoint: 'defuser.defuseCheckpoint',
  convertCheckpoint: 'defuser.convertCheckpoint',
  inspectSafetensors: 'defuser.inspectSafetensors',
  showLog: 'defuser.showLog',
} as const;

/** Options of the headless `defuser.convertCheckpoint` command; every field is optional. */
export interface HeadlessConvertOptions {
  /** Output folder; defaults to the `defuser.outputFolder` setting. */
  readonly outDir?: string;
  /** Filter rules; absent means the `defuser.defaultFilterRules` setting, null means no filter. */
  readonly filter?: readonly string[] | null;
  readonly maxLayers?: number | null;
  readonly overwrite?: boolean;
  readonly verify?: boolean;
  readonly otherFiles?: OtherFilesMode;
  /** In-process callers only (tests): the extension host passes these objects through unchanged. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ConvertProgress) => void;
}

/** Dependencies of the command handlers. */
export interface CommandDeps {
  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
}

function toPath(target: vscode.Uri | string): string {
  return typeof target === 'string' ? target : target.fsPath;
}

/** Returns the checkpoint folder for a folder, config.json, index or shard path. */
export function checkpointFolderOf(target: string): string {
  try {
    if (fs.statSync(target).isDirectory()) return target;
  } catch {
    // A missing path is reported by openCheckpoint with the right error kind.
  }
  return path.dirname(target);
}

async function pickCheckpoint(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: true, canSelectMany: false,
    openLabel: vscode.l10n.t('Defuse'),
    title: vscode.l10n.t('Select a checkpoint folder, its config.json, index or a .safetensors file'),
    filters: { [vscode.l10n.t('Checkpoint files')]: ['json', 'safetensors'] },
  });
  return picked?.[0]?.fsPath;
}

async function defuseCheckpoint(deps: CommandDeps, target?: vscode.Uri): Promise<void> {
  let checkpointPath = target?.fsPath;
  if (!checkpointPath) {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const inspector = input instanceof vscode.TabInputCustom
      && (input.viewType === INSPECTOR_VIEW_TYPE || input.viewType === INDEX_INSPECTOR_VIEW_TYPE);
    if (inspector) checkpointPath = input.uri.fsPath;
  }
  checkpointPath ??= await pickCheckpoint();
  if (!checkpointPath) return;
  deps.log.info(`[command] defuse ${checkpointPath}`);
  try {
    await openDefusePanel(deps, checkpointPath);
  } catch (error) {
    deps.log.error(`[command] opening the defuse panel for ${checkpointPath} failed: ${describeError(error)}`);
    void showFailure(deps, error);
  }
}

async function convertHeadless(deps: CommandDeps, target: vscode.Uri | string, options: HeadlessConvertOptions = {}): Promise<ConvertResult> {
  const checkpointPath = toPath(target);
  const settings = readSettings(vscode.Uri.file(checkpointFolderOf(checkpointPath)));
  try {
    const checkpoint = await openCheckpoint(checkpointPath);
    const filter = 'filter' in options ? options.filter ?? null : settings.defaultFilterRules;
    const maxLayers = 'maxLayers' in options ? options.maxLayers ?? null : settings.maxLayers;
    const plan = await planDefusion(checkpoint, { filter, maxLayers });
    const outDir = options.outDir ?? resolveOutputFolder(settings.outputFolder, checkpoint.root);
    return await executeConversion(deps, checkpoint.root, plan, {
      outDir,
      overwrite: options.overwrite ?? false,
      verify: options.verify ?? settings.verifyAfterWrite,
      otherFiles: options.otherFiles ?? settings.otherFiles,
      signal: options.signal,
      onProgress: options.onProgress,
    });
  } catch (error) {
    if (isCancellation(error)) deps.log.info(`[command] conversion of ${checkpointPath} cancelled`);
    else deps.log.error(`[command] conversion of ${checkpointPath} failed: ${describeError(error)}`);
    throw error;
  }
}

async function inspectSafetensors(deps: CommandDeps, target?: vscode.Uri): Promise<void> {
  let uri = target;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true, canSelectMany: false,
      filters: { [vscode.l10n.t('Safetensors')]: ['safetensors', 'json'] },
    });
    uri = picked?.[0];
  }
  if (!uri) return;
  const viewType = uri.path.endsWith('.safetensors.index.json') ? INDEX_INSPECTOR_VIEW_TYPE : INSPECTOR_VIEW_TYPE;
  deps.log.info(`[command] inspect ${uri.fsPath}`);
  await vscode.commands.executeCommand('vscode.openWith', uri, viewType);
}

/** Registers every command of package.json; the disposables go into context.subscriptions. */
export function registerCommands(deps: CommandDeps): void {
  deps.context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.defuseCheckpoint, (uri?: vscode.Uri) => defuseCheckpoint(deps, uri)),
    vscode.commands.registerCommand(COMMANDS.convertCheckpoint,
      (target: vscode.Uri | string, options?: HeadlessConvertOptions) => convertHeadless(deps, target, options)),
    vscode.commands.registerCommand(COMMANDS.inspectSafetensors, (uri?: vscode.Uri) => inspectSafetensors(deps, uri)),
    vscode.commands.registerCommand(COMMANDS.showLog, () => deps.log.show()),
  );
}
