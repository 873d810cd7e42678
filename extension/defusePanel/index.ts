/**
 * The host side of the defuse panel in VS Code: one webview panel per checkpoint, connected to a
 * PanelController that plans, pages the diff and converts.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openCheckpoint, type ConvertResult } from '../../src/index';
import { errorMessage } from '../../webview/protocol/rpc';
import { resolveOutputFolder } from '../outputFolder';
import { revealFolder } from '../revealFolder';
import type { DefuserSettings } from '../settings';
import { coreBackend } from './backend';
import { PanelController, type ConversionJob, type PanelDefaults } from './controller';
import { makeNonce, renderPanelHtml } from './html';

export type { ConversionJob } from './controller';

/** Dependencies of the panel on the rest of the extension. */
export interface PanelDeps {
  readonly log: vscode.LogOutputChannel;
  readonly settings: () => DefuserSettings;
  /** Runs a conversion (the extension adds its own progress notification and error reporting). */
  readonly runConversion: (job: ConversionJob) => Promise<ConvertResult>;
}

/** The defuse panel of one checkpoint. */
export class DefusePanel {
  /** Webview type of the panel. */
  static readonly viewType = 'defuser.defusePanel';

  /** Open panels by checkpoint folder and by the path they were opened with. */
  private static readonly open = new Map<string, DefusePanel>();

  private readonly disposables: vscode.Disposable[] = [];

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
    // No retainContextWhenHidden: the webview saves its view state with setState and rebuilds it from `init`.
    const panel = vscode.window.createWebviewPanel(
      DefusePanel.viewType,
      vscode.l10n.t('Defuse {0}', path.basename(checkpoint.root)),
      vscode.ViewColumn.Active,
      { enableScripts: true, localResourceRoots: [bundleFolder] },
    );
    const log = deps.log;
    const instance: DefusePanel = new DefusePanel(panel, new PanelController(checkpoint, coreBackend(checkpoint), {
      post: (message) => panel.webview.postMessage(message),
      log: (level, message) => log[level](message),
      defaults: () => panelDefaults(deps.settings(), checkpoint.root, log),
      pickFolder: (current) => pickFolder(current, checkpoint.root),
      writeClipboard: async (text) => {
        await vscode.env.clipboard.writeText(text);
      },
      openFolder: async (folder, action) => {
        const uri = vscode.Uri.file(folder);
        if (action === 'open') {
          await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
        } else {
          await revealFolder(uri);
        }
      },
      runConversion: (job) => deps.runConversion(job),
    }), bundleFolder, checkpoint.root);
    DefusePanel.open.set(checkpoint.root, instance);
    DefusePanel.open.set(requested, instance);
    log.info(`[panel] opened panel for ${checkpoint.root}`);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly controller: PanelController,
    bundleFolder: vscode.Uri,
    root: string,
  ) {
    const webview = panel.webview;
    webview.html = renderPanelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder, 'panel.css')).toString(),
      nonce: makeNonce(),
      title: `Defuse ${path.basename(root)}`,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.controller.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private dispose(): void {
    this.controller.dispose();
    for (const [key, panel] of DefusePanel.open) {
      if (panel === this) {
        DefusePanel.open.delete(key);
      }
    }
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
  }
}

function panelDefaults(settings: DefuserSettings, root: string, log: vscode.LogOutputChannel): PanelDefaults {
  let outDir: string;
  try {
    outDir = resolveOutputFolder(settings.outputFolder, root);
  } catch (error) {
    // An invalid template should not keep the panel from opening; the user sees the fallback and can edit it.
    outDir = `${root}-defused`;
    log.warn(`[panel] ${errorMessage(error)}; using ${outDir}`);
  }
  return { rules: settings.defaultFilterRules, maxLayers: settings.maxLayers, outDir, verify: settings.verifyAfterWrite };
}

async function pickFolder(current: string, root: string): Promise<string | null> {
  const start = path.isAbsolute(current) ? path.dirname(current) : path.dirname(root);
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(start),
    openLabel: vscode.l10n.t('Use as Output Folder'),
  });
  return picked?.[0]?.fsPath ?? null;
}
