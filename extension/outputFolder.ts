/** Expands the `defuser.outputFolder` template; kept free of `vscode` so it is easy to test. */
import * as path from 'node:path';

/** A template variable that is not one of `${folder}`, `${folderName}` and `${parent}`. */
export class OutputFolderTemplateError extends Error {
  constructor(readonly template: string, readonly variable: string) {
    super(`The setting defuser.outputFolder "${template}" uses the unknown variable \${${variable}}; `
      + 'use ${folder}, ${folderName} or ${parent}.');
    this.name = 'OutputFolderTemplateError';
  }
}

/**
 * Expands the template for a checkpoint folder: `${folder}` is the folder's absolute path, `${folderName}`
 * its last segment and `${parent}` the folder containing it. A relative result is resolved against
 * `${parent}`, so the default `${folder}-defused` and a bare `${folderName}-defused` agree.
 */
export function resolveOutputFolder(template: string, checkpointFolder: string): string {
  const folder = path.resolve(checkpointFolder);
  const values: Record<string, string> = {
    folder,
    folderName: path.basename(folder),
    parent: path.dirname(folder),
  };
  const expanded = template.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new OutputFolderTemplateError(template, name);
    return value;
  });
  return path.resolve(values.parent, expanded);
}
