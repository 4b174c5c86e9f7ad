import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GuardEvent, Notifier } from '../lambdas/ports/notifier';

/** Local alerts: one JSON line per event in a file (what a person or a script tails), and a hook to print it. */
export class LocalNotifier implements Notifier {
  constructor(
    private readonly file: string,
    private readonly onEvent: (event: GuardEvent) => void = () => undefined,
  ) {
    mkdirSync(dirname(file), { recursive: true });
  }

  async publish(event: GuardEvent): Promise<void> {
    // appendFileSync: the line is on disk before the alert counts as delivered.
    appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    this.onEvent(event);
  }
}
