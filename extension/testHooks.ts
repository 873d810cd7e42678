/**
 * Commands that expose internal state to the integration tests. They are registered outside production
 * mode (development and test hosts) or with DEFUSER_TEST_HOOKS=1, and are not declared in package.json.
 */
import * as vscode from 'vscode';
import type { CheckpointFolderTracker } from './checkpointFolders';
import type { InspectorProvider, InspectorState } from './inspector/inspectorProvider';
import { readSettings, type DefuserSettings } from './settings';

/** Ids of the test-only commands. */
export const TEST_COMMANDS = {
  inspectorStates: 'defuser.test.inspectorStates',
  checkpointFolders: 'defuser.test.checkpointFolders',
  settings: 'defuser.test.settings',
} as const;

/** Registers the test-only commands. */
export function registerTestCommands(
  deps: { readonly context: vscode.ExtensionContext },
  parts: { readonly tracker: CheckpointFolderTracker; readonly inspectors: InspectorProvider },
): void {
  deps.context.subscriptions.push(
    vscode.commands.registerCommand(TEST_COMMANDS.inspectorStates, (): InspectorState[] => parts.inspectors.states()),
    // With refresh false the command returns what the file watchers last published.
    vscode.commands.registerCommand(TEST_COMMANDS.checkpointFolders, async (refresh = true): Promise<readonly string[]> => {
      if (refresh) await parts.tracker.refresh();
      return parts.tracker.current;
    }),
    vscode.commands.registerCommand(TEST_COMMANDS.settings, (uri?: vscode.Uri): DefuserSettings => readSettings(uri)),
  );
}
