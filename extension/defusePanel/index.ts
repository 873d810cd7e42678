/**
 * The host side of the defuse panel: one webview panel per checkpoint, which plans as the user edits rules,
 * serves the tensor diff in pages, and runs the conversion through the injected runner.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openCheckpoint, type Checkpoint, type ConvertProgress, type ConvertResult, type Plan } from '../../src/index';
import type {
  ConvertParams, ConvertSummary, HostToWebview, InitState, PlanReply, RequestMessage, RunState,
} from '../../webview/protocol/messages';
import { assertNever } from '../../webview/protocol/messages';
import { errorMessage, serveRequest } from '../../webview/protocol/rpc';
import { parseWebviewMessage, ProtocolError } from '../../webview/protocol/validate';
import { describeError } from '../log';
import { resolveOutputFolder } from '../outputFolder';
import type { DefuserSettings } from '../settings';
import { coreBackend } from './backend';
import { buildCliCommand } from './cliCommand';
import { freeBytesAt } from './diskSpace';
import { makeNonce, renderPanelHtml } from './html';
import { PlanSession } from './planSession';

/** One conversion the panel asks the runner to perform. */
export interface ConversionJob {
  readonly checkpoint: Checkpoint;
  readonly plan: Plan;
  readonly outDir: string;
  readonly overwrite: boolean;
  readonly signal: AbortSignal;
  readonly onProgress: (progress: ConvertProgress) => void;
}

/** What the panel needs from the rest of the extension. */
export interface PanelDeps {
  readonly log: vscode.LogOutputChannel;
  readonly settings: () => DefuserSettings;
  /** Runs a conversion (the extension adds its own progress notification and error reporting). */
  readonly runConversion: (job: ConversionJob) => Promise<ConvertResult>;
}

/** Progress messages to the webview are sent at most this often, because the core may report every chunk. */
const PROGRESS_INTERVAL_MS = 100;

/** The defuse panel of one checkpoint. */
export class DefusePanel {
  /** Webview type of the panel, also used to restore it. */
  static readonly viewType = 'defuser.defusePanel';

  private static readonly open = new Map<string, DefusePanel>();

  private readonly session: PlanSession;
  private readonly disposables: vscode.Disposable[] = [];
  private run: RunState = { kind: 'idle' };
  private abort: AbortController | null = null;
  private lastProgressAt = 0;

  /** Opens the panel of a checkpoint, or reveals it when it is already open. Throws the core's error when the checkpoint cannot be opened. */
  static async show(context: vscode.ExtensionContext, deps: PanelDeps, checkpointPath: string): Promise<void> {
    const requested = path.resolve(checkpointPath);
    const existing = DefusePanel.open.get(requested);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const checkpoint = await openCheckpoint(requested);
    const sameRoot = DefusePanel.open.get(checkpoint.root);
    if (sameRoot) {
      sameRoot.panel.reveal();
      return;
    }
    const bundleFolder = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(
      DefusePanel.viewType,
      vscode.l10n.t('Defuse {0}', path.basename(checkpoint.root)),
      vscode.ViewColumn.Active,
      { enableScripts: true, localResourceRoots: [bundleFolder] },
    );
    const instance = new DefusePanel(panel, deps, checkpoint, bundleFolder);
    DefusePanel.open.set(checkpoint.root, instance);
    if (requested !== checkpoint.root) {
      DefusePanel.open.set(requested, instance);
    }
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
    private readonly checkpoint: Checkpoint,
    bundleFolder: vscode.Uri,
  ) {
    this.session = new PlanSession(coreBackend(checkpoint));
    const webview = panel.webview;
    webview.html = renderPanelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'panel.css')).toString(),
      nonce: makeNonce(),
      title: `Defuse ${path.basename(checkpoint.root)}`,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.log('info', `opened panel for ${checkpoint.root}`);
  }

  private log(level: 'info' | 'warn' | 'error' | 'debug', message: string): void {
    this.deps.log[level](`[panel] ${message}`);
  }

  private post(message: HostToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private receive(raw: unknown): void {
    let message;
    try {
      message = parseWebviewMessage(raw);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.log('warn', `rejected a message from the webview: ${error.message}`);
        if (error.requestId !== null) {
          void this.post({ type: 'response', id: error.requestId, ok: false, error: { kind: error.kind, message: error.message } });
        }
        return;
      }
      throw error;
    }
    if (message.type === 'ready') {
      void this.sendInit();
      return;
    }
    void serveRequest(message, (request) => this.handle(request), (reply) => this.post(reply));
  }

  private async sendInit(): Promise<void> {
    const settings = this.deps.settings();
    let outDir: string;
    let fatal: string | null = null;
    let plan: PlanReply | null = null;
    try {
      outDir = resolveOutputFolder(settings.outputFolder, this.checkpoint.root);
    } catch (error) {
      outDir = `${this.checkpoint.root}-defused`;
      this.log('warn', errorMessage(error));
    }
    try {
      plan = await this.session.update(settings.defaultFilterRules, settings.maxLayers);
    } catch (error) {
      fatal = errorMessage(error);
      this.log('error', `planning ${this.checkpoint.root} failed: ${describeError(error)}`);
    }
    const state: InitState = {
      checkpointPath: this.checkpoint.root,
      defaultRules: settings.defaultFilterRules,
      defaultMaxLayers: settings.maxLayers,
      outDir,
      run: this.run,
      plan,
      fatal,
    };
    await this.post({ type: 'init', state });
  }

  private async handle(message: RequestMessage): Promise<unknown> {
    switch (message.method) {
      case 'plan': {
        const reply = await this.session.update(message.params.rules, message.params.maxLayers);
        if (reply.ok) {
          this.log('debug', `planned ${reply.summary.counts.added} added and ${reply.summary.counts.removed} removed tensors`);
        }
        return reply;
      }
      case 'rows':
        return this.session.rows(message.params);
      case 'freeSpace':
        return { freeBytes: await freeBytesAt(message.params.outDir) };
      case 'pickFolder':
        return { folder: await this.pickFolder(message.params.current) };
      case 'convert':
        return this.convert(message.params);
      case 'cancel': {
        const running = this.abort !== null;
        this.abort?.abort();
        return { cancelled: running };
      }
      case 'copyCli': {
        const command = buildCliCommand(this.checkpoint.root, message.params);
        await vscode.env.clipboard.writeText(command);
        return { command };
      }
      case 'openResult':
        await this.openResult(message.params.outDir, message.params.how);
        return {};
      default:
        return assertNever(message, 'request');
    }
  }

  private async pickFolder(current: string): Promise<string | null> {
    const defaultUri = path.isAbsolute(current) ? vscode.Uri.file(path.dirname(current)) : vscode.Uri.file(path.dirname(this.checkpoint.root));
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri,
      openLabel: vscode.l10n.t('Use as Output Folder'),
    });
    return picked?.[0]?.fsPath ?? null;
  }

  private async convert(params: ConvertParams): Promise<ConvertSummary> {
    if (this.abort !== null) {
      throw Object.assign(new Error(vscode.l10n.t('A conversion of this checkpoint is already running.')), { kind: 'busy' });
    }
    // Plan again with exactly the parameters of the request, so the output matches what the user confirmed.
    const reply = await this.session.update(params.rules, params.maxLayers);
    const plan = this.session.plan;
    if (!reply.ok || plan === null) {
      const first = reply.ok ? null : reply.problems[0];
      throw Object.assign(new Error(first ? `Invalid filter rule ${first.index + 1}: ${first.message}` : 'No plan to convert.'), { kind: 'invalid-rule' });
    }
    const abort = new AbortController();
    this.abort = abort;
    this.setRun({ kind: 'running', outDir: params.outDir, progress: null });
    this.log('info', `converting ${this.checkpoint.root} into ${params.outDir}`);
    try {
      const result = await this.deps.runConversion({
        checkpoint: this.checkpoint,
        plan,
        outDir: params.outDir,
        overwrite: params.overwrite,
        signal: abort.signal,
        onProgress: (progress) => this.progress(params.outDir, progress),
      });
      const summary: ConvertSummary = {
        outDir: result.outDir,
        tensorsWritten: result.tensorsWritten,
        bytesWritten: result.bytesWritten,
        seconds: result.seconds,
        verified: result.verified,
        files: result.files,
      };
      this.setRun({ kind: 'done', summary });
      return summary;
    } catch (error) {
      if (abort.signal.aborted) {
        this.log('info', `conversion into ${params.outDir} cancelled`);
        this.setRun({ kind: 'cancelled' });
      } else {
        this.log('error', `conversion into ${params.outDir} failed: ${describeError(error)}`);
        this.setRun({ kind: 'failed', message: errorMessage(error) });
      }
      throw error;
    } finally {
      this.abort = null;
    }
  }

  private progress(outDir: string, progress: ConvertProgress): void {
    const now = Date.now();
    const finished = progress.bytesDone >= progress.bytesTotal;
    if (!finished && now - this.lastProgressAt < PROGRESS_INTERVAL_MS) {
      return;
    }
    this.lastProgressAt = now;
    this.setRun({ kind: 'running', outDir, progress: { ...progress } });
  }

  private setRun(run: RunState): void {
    this.run = run;
    void this.post({ type: 'run', run });
  }

  private async openResult(outDir: string, how: 'open' | 'reveal'): Promise<void> {
    // Only the folder this panel wrote may be opened, whatever path the webview sends.
    if (this.run.kind !== 'done' || path.resolve(this.run.summary.outDir) !== path.resolve(outDir)) {
      throw Object.assign(new Error(`The folder ${outDir} is not the output of this panel's last conversion.`), { kind: 'bad-request' });
    }
    const uri = vscode.Uri.file(outDir);
    if (how === 'open') {
      await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
    } else {
      await vscode.commands.executeCommand('revealFileInOS', uri);
    }
  }

  private dispose(): void {
    if (this.abort !== null) {
      this.log('info', 'panel closed during a conversion, cancelling it');
      this.abort.abort();
    }
    for (const [key, panel] of DefusePanel.open) {
      if (panel === this) {
        DefusePanel.open.delete(key);
      }
    }
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
    this.log('info', `closed panel for ${this.checkpoint.root}`);
  }
}
