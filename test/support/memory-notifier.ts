import type { GuardEvent, Notifier } from '../../lambdas/ports/notifier';

/** Keeps events in memory: for tests, and as the fan-in the local runtime prints from. */
export class MemoryNotifier implements Notifier {
  readonly events: GuardEvent[] = [];
  failNext = 0;

  async publish(event: GuardEvent): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('notifier unavailable');
    }
    this.events.push(event);
  }
}
