import type middy from '@middy/core';

export const METRICS_NAMESPACE = 'sdim-guard';

/**
 * Straight to stdout, never console.log: with JSON log format the Lambda runtime wraps every console line into the
 * "message" field of its own JSON record, where CloudWatch no longer sees `_aws` at the top level and extracts no
 * metric. Lines written to stdout reach the log unchanged (as Powertools Metrics does it).
 */
export function writeStdoutLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** CloudWatch Embedded Metric Format: one JSON log line becomes metrics, no API call and no extra latency. */
export function emitMetrics(
  dimensions: Record<string, string>,
  metrics: Record<string, number>,
  log: (line: string) => void = writeStdoutLine,
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
  { changes: Array<{ classification: string }>; warnings?: Array<{ code: string; message: string }>; anchor?: { status: string } }
> {
  return {
    after: async (request) => {
      const changes = request.response?.changes ?? [];
      emitMetrics({ Tenant: String(request.event?.tenant) }, { SnapshotSucceeded: 1 });
      emitMetrics({}, { Changes: changes.length, UnexpectedChanges: changes.filter((c) => c.classification === 'unexpected').length });
      // Once a day per tenant still on a deprecated ISC API version (the snapshot's own daily warning).
      const legacy = (request.response?.warnings ?? []).filter((w) => w.code === 'legacy-api-version').length;
      if (legacy > 0) emitMetrics({}, { LegacyApiVersion: legacy });
      // The snapshot is committed but its head is not anchored outside the table: alarmed (lib/history-anchors.ts).
      if (request.response?.anchor?.status === 'failed') {
        for (const w of request.response.warnings ?? []) if (w.code === 'anchor-failed') console.error(w.message);
        emitMetrics({}, { AnchorFailed: 1 });
      }
    },
    onError: async () => {
      emitMetrics({}, { SnapshotFailed: 1 });
    },
  };
}
