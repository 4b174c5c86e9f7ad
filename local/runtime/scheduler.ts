/**
 * The local stand-in for EventBridge Scheduler: every `intervalMs`, one job per tenant. A tenant whose previous run
 * is still going is skipped for that tick, as a FIFO-per-tenant schedule would; different tenants run in parallel.
 */
export class TenantScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly tenants: () => Promise<string[]>,
    private readonly job: (tenant: string) => Promise<void>,
    private readonly intervalMs: number,
    /** A tick that fails as a whole (the tenant list cannot be read) is reported here; the schedule goes on. */
    private readonly onError: (error: Error) => void = () => undefined,
  ) {
    if (!(intervalMs >= 1000)) throw new Error('the snapshot interval must be at least one second');
  }

  /** One tick for every tenant; resolves when all of them finished. */
  async tick(): Promise<void> {
    const names = await this.tenants();
    await Promise.all(
      names.map((tenant) => {
        const inFlight = this.running.get(tenant);
        if (inFlight) return inFlight;
        const run = this.job(tenant).finally(() => this.running.delete(tenant));
        this.running.set(tenant, run);
        return run;
      }),
    );
  }

  private guardedTick(): Promise<void> {
    return this.tick().catch((error: unknown) => this.onError(error instanceof Error ? error : new Error(String(error))));
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.guardedTick().finally(() => {
          if (this.timer) loop();
        });
      }, this.intervalMs);
    };
    void this.guardedTick().finally(loop);
  }

  /** Stops scheduling and waits for runs in flight, so nothing is cut off halfway. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }
}
