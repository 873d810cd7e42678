/** Adapts the extension's one LogOutputChannel to the core's Logger, with a component tag per line. */
import type * as vscode from 'vscode';
import type { Logger } from '../src/index';

/** Returns a core Logger that writes to `channel`, each line prefixed with `[component]`. */
export function taggedLogger(channel: vscode.LogOutputChannel, component: string): Logger {
  const tag = `[${component}] `;
  return {
    debug: (message) => channel.debug(tag + message),
    info: (message) => channel.info(tag + message),
    warn: (message) => channel.warn(tag + message),
    error: (message) => channel.error(tag + message),
  };
}

/** Returns the text of any thrown value, with the stack when there is one, for the log. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
