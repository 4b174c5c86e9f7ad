import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LocalFifoQueue } from '../../local/runtime/fifo-queue';

// The local stand-in for the Lambda–SQS FIFO event source must behave like it, or local tests prove nothing.

describe('LocalFifoQueue', () => {
  let now = 0;
  const queue = (options = {}) => new LocalFifoQueue({ now: () => now, visibilityTimeoutMs: 100, maxReceiveCount: 3, ...options });
  const bodies = (event: SQSEvent) => event.Records.map((r) => r.body);
  beforeEach(() => {
    now = 0;
  });

  it('drops a repeated deduplication id within five minutes, as SQS FIFO does', async () => {
    const q = queue();
    await q.enqueue({ requestId: 'r1', tenant: 't', resourceKey: 'k' });
    await q.enqueue({ requestId: 'r1', tenant: 't', resourceKey: 'k' });
    expect(q.depth).toBe(1);
    now += 300_001;
    await q.enqueue({ requestId: 'r1', tenant: 't', resourceKey: 'k' });
    expect(q.depth).toBe(2);
  });

  it('keeps a group in order and its later messages behind a failed one until the visibility timeout', async () => {
    const q = queue();
    q.sendRaw('a1', 'A', 'a1');
    q.sendRaw('a2', 'A', 'a2');
    q.sendRaw('b1', 'B', 'b1');
    const seen: string[][] = [];
    const failA1 = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      seen.push(bodies(event));
      const a1 = event.Records.find((r) => r.body === 'a1');
      const a2 = event.Records.find((r) => r.body === 'a2');
      // The handler reports a1 and (FIFO) the a2 behind it as failed.
      return { batchItemFailures: [a1, a2].filter((r) => r !== undefined).map((r) => ({ itemIdentifier: r.messageId })) };
    };
    await q.pollOnce(failA1);
    expect(seen[0]).toEqual(['a1', 'a2', 'b1']);
    expect(await q.pollOnce(failA1)).toBe(0);
    now += 100;
    await q.pollOnce(async (event) => {
      seen.push(bodies(event));
      return { batchItemFailures: [] };
    });
    expect(seen[1]).toEqual(['a1', 'a2']);
    expect(q.depth).toBe(0);
  });

  it('counts receives and moves a message to the DLQ after maxReceiveCount', async () => {
    const q = queue();
    q.sendRaw('poison', 'P');
    const counts: string[] = [];
    for (let i = 0; i < 3; i++) {
      await q.pollOnce(async (event) => {
        counts.push(event.Records[0]?.attributes.ApproximateReceiveCount ?? '');
        throw new Error('handler crashed');
      });
      now += 100;
    }
    expect(counts).toEqual(['1', '2', '3']);
    expect(q.depth).toBe(0);
    expect(q.deadLetters).toEqual([expect.objectContaining({ body: 'poison', reason: 'moved to the DLQ after 3 receives', groupId: 'P' })]);
  });

  it('delivers at most batchSize messages per batch', async () => {
    const q = queue({ batchSize: 2 });
    for (const g of ['A', 'B', 'C']) q.sendRaw(g, g);
    let size = 0;
    await q.pollOnce(async (event) => {
      size = event.Records.length;
      return { batchItemFailures: [] };
    });
    expect(size).toBe(2);
    expect(q.depth).toBe(1);
  });
});
