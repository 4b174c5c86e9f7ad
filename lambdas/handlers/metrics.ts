import type middy from '@middy/core';

export const METRICS_NAMESPACE = 'sdim-guard';

/** CloudWatch Embedded Metric Format: one JSON log line becomes metrics, no API call and no extra latency. */
export function emitMetrics(
  dimensions: Record<string, string>,
  metrics: Record<string, number>,
  log: (line: string) => void = console.log,
): void {
  log(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })),
          },
        ],
      },
      ...dimensions,
      ...metrics,
    }),
  );
}

/**
 * Snapshot outcome metrics. Only SnapshotSucceeded is per tenant (the "no successful snapshot" alarm needs it);
 * the rest are account-wide, because every custom metric is billed monthly and 100 tenants would multiply them.
 */
export function snapshotMetrics(): middy.MiddlewareObj<
  { tenant?: string },
  { changes: Array<{ classification: string }>; warnings?: Array<{ code: string }> }
> {
  return {
    after: async (request) => {
      const changes = request.response?.changes ?? [];
      emitMetrics({ Tenant: String(request.event?.tenant) }, { SnapshotSucceeded: 1 });
      emitMetrics({}, { Changes: changes.length, UnexpectedChanges: changes.filter((c) => c.classification === 'unexpected').length });
      // Once a day per tenant still on a deprecated ISC API version (the snapshot's own daily warning).
      const legacy = (request.response?.warnings ?? []).filter((w) => w.code === 'legacy-api-version').length;
      if (legacy > 0) emitMetrics({}, { LegacyApiVersion: legacy });
    },
    onError: async () => {
      emitMetrics({}, { SnapshotFailed: 1 });
    },
  };
}
