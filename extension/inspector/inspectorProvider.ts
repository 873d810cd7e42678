/**
 * The read-only custom editor for `.safetensors` files (default) and `*.safetensors.index.json` (option).
 * The webview requests the summary, pages of rows and statistics. The host reads headers and streams tensors.
 */
import * as vscode from 'vscode';
import { computeTensorStats, searchRows, StatsCancelledError, visibleRows } from '../../src/inspect/index';
import {
  assertNeverMessage, parseInspectorRequest,
  type InspectorEvent, type InspectorRequest, type InspectorSummary,
} from '../../webview/inspector/protocol';
import { describeError } from '../log';
import { escapeHtml, webviewShell } from '../webviewHtml';
import { loadInspectorModel, type InspectorModel } from './inspectorModel';

/** View type of the inspector of single `.safetensors` files. */
export const INSPECTOR_VIEW_TYPE = 'defuser.inspector';
/** View type of the inspector of a whole sharded checkpoint, opened from its index file. */
export const INDEX_INSPECTOR_VIEW_TYPE = 'defuser.indexInspector';

/** Host-side state of one open inspector, for tests. */
export interface InspectorState {
  readonly uri: string;
  /** The webview script ran and sent `ready`. */
  readonly webviewReady: boolean;
  readonly summary: InspectorSummary | null;
  readonly error: string | null;
  /** Rows sent in the last page reply, and the total they were taken from. */
  readonly lastRows: { readonly total: number; readonly count: number; readonly labels: readonly string[] } | null;
}

class InspectorDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {
    // Nothing is held open: headers are read into memory and files are closed after each read.
  }
}

class InspectorSession {
  state: InspectorState;
  private model: Promise<InspectorModel> | undefined;
  private readonly stats = new Map<string, AbortController>();

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly uri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.state = { uri: uri.toString(), webviewReady: false, summary: null, error: null, lastRows: null };
  }

  private post(event: InspectorEvent): void {
    void this.panel.webview.postMessage(event);
  }

  private loadModel(): Promise<InspectorModel> {
    this.model ??= loadInspectorModel(this.uri.fsPath);
    return this.model;
  }

  async handle(request: InspectorRequest): Promise<void> {
    switch (request.type) {
      case 'ready': {
        this.state = { ...this.state, webviewReady: true };
        try {
          const model = await this.loadModel();
          this.state = { ...this.state, summary: model.summary };
          this.log.info(`[inspector] ${this.uri.fsPath}: ${model.summary.tensorCount} tensors in ${model.summary.files.length} file(s)`);
          this.post({ type: 'init', summary: model.summary });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.state = { ...this.state, error: message };
          this.log.error(`[inspector] reading ${this.uri.fsPath} failed: ${describeError(error)}`);
          this.post({ type: 'error', message });
        }
        return;
      }
      case 'rows': {
        const model = await this.loadModel();
        const rows = request.query.trim() !== ''
          ? searchRows(model.tensors, request.query.trim())
          : visibleRows(model.tree, new Set(request.expanded));
        const page = rows.slice(request.offset, request.offset + request.limit);
        this.state = { ...this.state, lastRows: { total: rows.length, count: page.length, labels: page.map((row) => row.label) } };
        this.post({ type: 'rows', requestId: request.requestId, total: rows.length, offset: request.offset, rows: page });
        return;
      }
      case 'stats':
        await this.computeStats(request.requestId, request.tensor);
        return;
      case 'cancelStats':
        this.stats.get(request.tensor)?.abort();
        return;
      case 'openPlan':
        await vscode.commands.executeCommand('defuser.defuseCheckpoint', this.uri);
        return;
      default:
        assertNeverMessage(request);
    }
  }

  private async computeStats(requestId: number, tensor: string): Promise<void> {
    const model = await this.loadModel();
    const header = model.headerOf.get(tensor);
    if (!header) {
      this.post({ type: 'stats', requestId, tensor, stats: null, error: `Tensor ${tensor} is not in this file.` });
      return;
    }
    this.stats.get(tensor)?.abort();
    const controller = new AbortController();
    this.stats.set(tensor, controller);
    let lastFraction = 0;
    try {
      const stats = await computeTensorStats(header, tensor, {
        signal: controller.signal,
        onProgress: (fraction) => {
          // About 100 updates per tensor are plenty for a progress bar.
          if (fraction - lastFraction < 0.01 && fraction < 1) return;
          lastFraction = fraction;
          this.post({ type: 'statsProgress', tensor, fraction });
        },
      });
      this.post({ type: 'stats', requestId, tensor, stats, error: null });
    } catch (error) {
      const cancelled = error instanceof StatsCancelledError;
      if (!cancelled) this.log.error(`[inspector] statistics of ${tensor} failed: ${describeError(error)}`);
      this.post({ type: 'stats', requestId, tensor, stats: null, error: cancelled ? 'Cancelled.' : String((error as Error).message) });
    } finally {
      if (this.stats.get(tensor) === controller) this.stats.delete(tensor);
    }
  }

  dispose(): void {
    for (const controller of this.stats.values()) controller.abort();
    this.stats.clear();
  }
}

/** Provides both inspector view types and keeps the open sessions for the test hooks. */
export class InspectorProvider implements vscode.CustomReadonlyEditorProvider<InspectorDocument> {
  private readonly sessions = new Map<vscode.WebviewPanel, InspectorSession>();

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Registers the provider for both view types; the registrations go into context.subscriptions. */
  static register(deps: { readonly context: vscode.ExtensionContext; readonly log: vscode.LogOutputChannel }): InspectorProvider {
    const provider = new InspectorProvider(deps.context, deps.log);
    const options = { webviewOptions: { retainContextWhenHidden: false }, supportsMultipleEditorsPerDocument: true };
    deps.context.subscriptions.push(
      vscode.window.registerCustomEditorProvider(INSPECTOR_VIEW_TYPE, provider, options),
      vscode.window.registerCustomEditorProvider(INDEX_INSPECTOR_VIEW_TYPE, provider, options),
    );
    return provider;
  }

  /** States of the open inspectors, for tests. */
  states(): InspectorState[] {
    return [...this.sessions.values()].map((session) => session.state);
  }

  openCustomDocument(uri: vscode.Uri): InspectorDocument {
    return new InspectorDocument(uri);
  }

  resolveCustomEditor(document: InspectorDocument, panel: vscode.WebviewPanel): void {
    const bundleFolder = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [bundleFolder] };
    panel.webview.html = webviewShell({
      webview: panel.webview,
      title: `Inspect ${document.uri.path.split('/').pop() ?? ''}`,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'inspector.js')),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'inspector.css')),
      body: `<main id="app" data-file="${escapeHtml(document.uri.path.split('/').pop() ?? '')}"><p>Reading header…</p></main>`,
    });
    const session = new InspectorSession(panel, document.uri, this.log);
    this.sessions.set(panel, session);
    panel.onDidDispose(() => {
      session.dispose();
      this.sessions.delete(panel);
    });
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const request = parseInspectorRequest(raw);
      if (!request) {
        this.log.warn(`[inspector] ignored a malformed message from the webview: ${JSON.stringify(raw).slice(0, 200)}`);
        return;
      }
      try {
        await session.handle(request);
      } catch (error) {
        this.log.error(`[inspector] handling ${request.type} failed: ${describeError(error)}`);
        void panel.webview.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies InspectorEvent);
      }
    });
  }
}
