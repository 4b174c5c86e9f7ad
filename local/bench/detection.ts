import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../lambdas/domain/canonical';
import { detectChanges, type KnownResource } from '../../lambdas/domain/detect';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { seedIntegrations } from '../emulator/seed';

/** Normalise + fingerprint + hash 5,000 integrations and diff the 1 % that changed; median of `runs`. */
export function benchDetection(count = 5000, runs = 7): { integrations: number; medianMs: number; changes: number } {
  const options = { tenant: 'bench', secretPolicy: new SecretPolicy(), hmacKey: randomBytes(32) };
  const rules = new SeverityRules();
  const before = seedIntegrations(count, 3).map((i) => normaliseIntegration(i, options));
  const known = new Map<string, KnownResource>(
    before.map((r) => [r.key, { key: r.key, ref: { kind: r.kind, id: r.id, name: r.name }, contentHash: r.contentHash, version: 1 }]),
  );
  const contents = new Map<string, JsonObject>(before.map((r) => [r.key, r.content]));
  const live = seedIntegrations(count, 3);
  for (let i = 0; i < count; i += 100) (live[i] as { description: string }).description = `changed ${i}`;
  const times: number[] = [];
  let changes = 0;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const current = live.map((i) => normaliseIntegration(i, options));
    changes = detectChanges(known, current, contents, rules).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { integrations: count, medianMs: times[Math.floor(times.length / 2)] as number, changes };
}
