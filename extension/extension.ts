/** Entry point of the extension: creates the log, wires up commands, the Explorer context key and the inspector. */
import * as vscode from 'vscode';
import { CheckpointFolderTracker } from './checkpointFolders';
import { registerCommands } from './commands';
import { InspectorProvider } from './inspector/inspectorProvider';
import { registerTestCommands } from './testHooks';

/** Activates the extension; every disposable goes into context.subscriptions. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Defuser', { log: true });
  context.subscriptions.push(log);
  log.info(`[activate] Defuser ${String(context.extension.packageJSON.version)} in ${vscode.env.appName} ${vscode.version}`
    + `${vscode.workspace.isTrusted ? '' : ' (Restricted Mode: converting is disabled)'}`);

  const deps = { context, log };
  registerCommands(deps);

  const inspectors = InspectorProvider.register(deps);

  const tracker = new CheckpointFolderTracker(log);
  context.subscriptions.push(tracker);
  void tracker.refresh();

  // Test and development hosts get commands that expose internal state. Installed copies get them only when
  // the harness sets DEFUSER_TEST_HOOKS=1 to test a packaged .vsix.
  if (context.extensionMode !== vscode.ExtensionMode.Production || process.env.DEFUSER_TEST_HOOKS === '1') {
    registerTestCommands(deps, { tracker, inspectors });
  }
}

/** Nothing to do: every resource is released through context.subscriptions. */
export function deactivate(): void {
  // Intentionally empty.
}
