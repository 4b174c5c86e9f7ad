import { constants as osConstants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const OURS = Symbol('sdim-guard exit hook');
const onExit = new Set<() => void>();
const onSignal = new Set<() => Promise<void>>();
let installed = false;

/**
 * What must happen however this process ends: `atExit` runs on every exit (synchronously), `beforeSignalExit` first
 * when a signal ends it. A signal ends Node without its 'exit' event, so a process where nothing else listens to the
 * signal (a one-shot command) runs the cleanups and exits 128 + the signal number, as the shell expects; a process
 * that handles the signal itself (the local stack, the console) is left to stop in its own order.
 */
export function registerExitHooks(hooks: { atExit?: () => void; beforeSignalExit?: () => Promise<void> }): () => void {
  install();
  if (hooks.atExit) onExit.add(hooks.atExit);
  if (hooks.beforeSignalExit) onSignal.add(hooks.beforeSignalExit);
  return () => {
    if (hooks.atExit) onExit.delete(hooks.atExit);
    if (hooks.beforeSignalExit) onSignal.delete(hooks.beforeSignalExit);
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const hook of onExit) hook();
  });
  for (const signal of SIGNALS) {
    const listener = Object.assign(
      () => {
        if (process.listeners(signal).some((l) => !(OURS in l))) return;
        const code = 128 + (osConstants.signals[signal] ?? 0);
        void Promise.allSettled([...onSignal].map((hook) => hook())).finally(() => process.exit(code));
      },
      { [OURS]: true },
    );
    process.prependListener(signal, listener);
  }
}
