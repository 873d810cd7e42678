/** Shows a folder to the user in a way that works in desktop VS Code, over Remote-SSH and in the browser. */
import * as vscode from 'vscode';

/** Error raised when a folder is outside the workspace and this VS Code has no file manager to show it in. */
export class RevealFolderError extends Error {
  constructor(readonly folder: string) {
    super(`The folder ${folder} is outside the workspace, and this VS Code cannot open a file manager; use Open Folder instead.`);
    this.name = 'RevealFolderError';
  }
}

/**
 * Reveals a folder in the Explorer when the workspace contains it. Otherwise it falls back to the system
 * file manager, a command that VS Code in the browser (code-server) and remote hosts lack.
 */
export async function revealFolder(uri: vscode.Uri): Promise<'explorer' | 'os'> {
  if (vscode.workspace.getWorkspaceFolder(uri) !== undefined) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return 'explorer';
  }
  const commands = await vscode.commands.getCommands(true);
  if (vscode.env.remoteName === undefined && commands.includes('revealFileInOS')) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return 'os';
  }
  throw new RevealFolderError(uri.fsPath);
}
