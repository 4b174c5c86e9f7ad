import { createHmac } from 'node:crypto';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import { canonicalJson, sha256Hex } from './canonical';
import { type NormaliseOptions, normaliseIntegration } from './normalise';
import type { NormalisedResource } from './resources';

/**
 * The version of what `normaliseIntegration` produces. Bump it with every change that can give a document another
 * content hash (a new noise path, another sort, a fingerprint format, ...): every raw digest stored before then stops
 * matching and each integration is normalised again (test/unit/raw-digest.test.ts pins a hash to this number).
 */
export const NORMALISER_VERSION = 1;

/** Domain separation: the digest key is derived from the fingerprint key, never the fingerprint key itself. */
const DIGEST_KEY_LABEL = 'sdim-guard raw-document digest key v1';

/** Domain separation of the listing digest (one over the whole fetch) from the per-document digests. */
const LISTING_LABEL = 'sdim-guard listing digest v1';

/** What the stored head says about an integration: the hash the snapshot recorded and, since v1, its raw digest. */
export interface HeadDigest {
  readonly contentHash: string;
  readonly rawDigest?: string;
}

/** The fields of a chained snapshot record a listing seal is bound to. */
export interface RecordTip {
  readonly seq: number;
  readonly hash: string;
  readonly takenAt: string;
  readonly manifestHash: string;
  readonly resourceCount: number;
  /** The UTC day (YYYY-MM-DD) of the latest run up to this record that normalised everything and read every head. */
  readonly fullCheckDay: string;
}

/**
 * Keyed digests of integrations exactly as ISC returned them, bound to every input of normalisation.
 *
 * A head keeps `rawDigest = HMAC(K, HMAC(K, binding ‖ key ‖ JSON(document without 'modified')) ‖ contentHash)`, where K is
 * derived from the snapshot function's digest key (or, without one, the fingerprint key) and `binding` hashes the normaliser version, the tenant, the secret
 * policy's rules and ignoreReferenceNames. When the live document gives the same digest with the head's contentHash,
 * that contentHash is what normalising the document now would give (the same document under the same settings was
 * normalised into it), so it is reused and the document is not normalised. Anything else (another byte of the
 * document, another key order, another setting or key, a head without a digest) normalises as before. Keyed, so the
 * digest of a document holding a credential in clear cannot be used to guess that credential offline; bound to the
 * contentHash, so a digest copied from another head or an older version of this one vouches only for the hash it
 * was computed with (see docs/architecture.md, "Skipping unchanged integrations").
 */
export class RawDigests {
  readonly binding: string;
  private readonly key: Buffer;
  private readonly documents = new WeakMap<ServiceDeskIntegration, string>();

  /**
   * @param digestKey the snapshot function's own key (in AWS a secret only its role may read): without it, K is derived
   * from the fingerprint key, which the approval, apply and sweeper roles hold too (the local runtime, where one user
   * holds every key).
   */
  constructor(
    private readonly options: NormaliseOptions,
    digestKey?: Buffer,
  ) {
    this.key = createHmac('sha256', digestKey ?? options.hmacKey)
      .update(DIGEST_KEY_LABEL)
      .digest();
    this.binding = sha256Hex(
      canonicalJson({
        normaliser: NORMALISER_VERSION,
        tenant: options.tenant,
        ignoreReferenceNames: options.ignoreReferenceNames ?? true,
        secretPolicy: options.secretPolicy.rules,
        // Secret fingerprints are keyed by it, so another fingerprint key gives other content hashes. An id, not the
        // key: the binding is a plain hash.
        fingerprintKey: createHmac('sha256', options.hmacKey).update('sdim-guard fingerprint key id').digest('hex'),
      }),
    );
  }

  /**
   * Digests the documents of a page as it arrives (while the other pages and the stored state are still on their way),
   * so that checking them once the heads are read costs one short HMAC each. Keyed by the parsed object itself, which
   * nothing changes afterwards.
   */
  prime(page: readonly ServiceDeskIntegration[]): void {
    for (const dto of page) if (!this.documents.has(dto)) this.documents.set(dto, this.documentDigest(dto));
  }

  /** The digest of `dto` as it would be stored with `contentHash`. */
  of(dto: ServiceDeskIntegration, contentHash: string): string {
    const document = this.documents.get(dto) ?? this.documentDigest(dto);
    return createHmac('sha256', this.key).update(`${document}\n${contentHash}`).digest('hex');
  }

  /** HMAC of the binding, the resource key and the document as received, `modified` left out (as the content hash does). */
  private documentDigest(dto: ServiceDeskIntegration): string {
    const { modified: _modified, ...rest } = dto as ServiceDeskIntegration & { modified?: string };
    return this.digestOf(`integration:${dto.id ?? ''}`, rest);
  }

  private digestOf(key: string, document: unknown): string {
    return createHmac('sha256', this.key)
      .update(JSON.stringify([this.binding, key]))
      .update('\n')
      .update(JSON.stringify(document))
      .digest('hex');
  }

  /**
   * One digest of the whole fetch: every integration's document digest, in key order, and the status-check
   * configuration as received. Equal listing digests mean the same documents under the same settings; an integration
   * added, removed, edited or re-ordered inside gives another.
   */
  listing(integrations: readonly ServiceDeskIntegration[], statusCheck: StatusCheckConfig): string {
    const lines = integrations.map((dto) => JSON.stringify([dto.id ?? '', this.documents.get(dto) ?? this.documentDigest(dto)])).sort();
    const hmac = createHmac('sha256', this.key).update(`${LISTING_LABEL}\n${this.binding}\n${integrations.length}\n`);
    for (const line of lines) hmac.update(`${line}\n`);
    return hmac.update(this.digestOf('status-check', statusCheck)).digest('hex');
  }

  /**
   * Vouches for a record's `fullCheckDay`, which sits outside the record's hash: without the key, moving it to today
   * (to spare the next run the daily full check) leaves a tag that no longer matches, and the run checks everything.
   */
  fullCheckTag(record: Pick<RecordTip, 'seq' | 'hash' | 'takenAt' | 'fullCheckDay'>): string {
    const { seq, hash, takenAt, fullCheckDay } = record;
    return createHmac('sha256', this.key)
      .update(`${LISTING_LABEL} full check\n${JSON.stringify([seq, hash, takenAt, fullCheckDay])}`)
      .digest('hex');
  }

  /**
   * A keyed digest of one page of the listing as it arrived (its offset, and its documents' digests in order). The
   * record keeps those of its fetch as hints: a later run whose page differs knows at once that its fetch is not the
   * sealed one and starts reading the heads while the other pages arrive. Only a hint: the seal alone decides.
   */
  page(items: readonly ServiceDeskIntegration[], offset: number): string {
    const hmac = createHmac('sha256', this.key).update(`${LISTING_LABEL} page\n${this.binding}\n${offset}\n`);
    for (const dto of items) hmac.update(`${this.documents.get(dto) ?? this.documentDigest(dto)}\n`);
    return hmac.digest('hex');
  }

  /** The page digests of a whole listing, `pageSize` integrations a page, in the order they were listed. */
  pages(integrations: readonly ServiceDeskIntegration[], pageSize: number): string[] {
    const out: string[] = [];
    for (let offset = 0; offset < integrations.length || offset === 0; offset += pageSize)
      out.push(this.page(integrations.slice(offset, offset + pageSize), offset));
    return out;
  }

  /**
   * What a snapshot record keeps so that a later run can tell its fetch is the one this record's manifest was made
   * from: the listing digest bound to the record's place in the chain, its date, the manifest it vouches for and the
   * day of the last full check. A record with any of them edited (or a seal copied from another record) no longer
   * matches; only a holder of the digest key can make one.
   */
  seal(listing: string, record: RecordTip): string {
    const { seq, hash, takenAt, manifestHash, resourceCount, fullCheckDay } = record;
    return createHmac('sha256', this.key)
      .update(`${LISTING_LABEL} seal\n${JSON.stringify([listing, seq, hash, takenAt, manifestHash, resourceCount, fullCheckDay])}`)
      .digest('hex');
  }

  /** Does the head's digest vouch for its contentHash as the normalisation of `dto`? */
  vouches(dto: ServiceDeskIntegration, head: HeadDigest | undefined): boolean {
    return head?.rawDigest !== undefined && head.rawDigest === this.of(dto, head.contentHash);
  }

  /**
   * The integration as the snapshot compares it, with the raw digest its head is to keep. With a head the digest
   * vouches for (and `reuse`), the head's contentHash is taken and nothing is normalised: the content is normalised
   * only if something reads it (no unchanged resource's content is read), and then it must hash to that contentHash.
   */
  resolve(
    dto: ServiceDeskIntegration,
    head: HeadDigest | undefined,
    reuse = true,
  ): { resource: NormalisedResource; rawDigest: string; normalised: boolean; vouched: boolean } {
    const vouched = this.vouches(dto, head);
    if (vouched && reuse && head && dto.id) {
      const options = this.options;
      let content: NormalisedResource['content'] | undefined;
      const modified = (dto as { modified?: string }).modified;
      const resource: NormalisedResource = {
        key: `integration:${dto.id}`,
        kind: 'integration',
        id: dto.id,
        name: dto.name,
        contentHash: head.contentHash,
        meta: modified ? { modified } : {},
        get content() {
          if (content === undefined) {
            const full = normaliseIntegration(dto, options);
            if (full.contentHash !== head.contentHash)
              throw new Error(`integration ${dto.id}: its raw digest vouched for a content hash its normalisation does not give`);
            content = full.content;
          }
          return content;
        },
      };
      return { resource, rawDigest: head.rawDigest as string, normalised: false, vouched };
    }
    const resource = normaliseIntegration(dto, this.options);
    return { resource, rawDigest: this.of(dto, resource.contentHash), normalised: true, vouched };
  }
}
