import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dynamoDbLocalHome, manifestClassPath, withoutClassPath } from '../../local/java-launch';

// CDS refuses a class path with a non-empty folder, and DynamoDBLocal.jar's manifest puts its own folder (`.`) on it:
// the cached copy must lose exactly that attribute and keep every other entry of the jar.

describe('the DynamoDB Local jar prepared for class-data sharing', () => {
  const jar = readFileSync(join(dynamoDbLocalHome(), 'DynamoDBLocal.jar'));

  it('names its libraries in the manifest, the folder itself among them', () => {
    const entries = manifestClassPath(withoutClassPath(jar).manifest);
    expect(entries).toContain('.');
    expect(entries.filter((e) => e.endsWith('.jar')).length).toBeGreaterThan(40);
    expect(entries).toContain('DynamoDBLocal_lib/sqlite4java.jar');
  });

  it('rewrites the manifest without Class-Path and keeps every other attribute and entry', () => {
    const original = withoutClassPath(jar);
    const rewritten = withoutClassPath(original.rewrite());
    expect(manifestClassPath(rewritten.manifest)).toEqual([]);
    expect(rewritten.manifest).toMatch(/^Manifest-Version: 1\.0\r\n/);
    expect(rewritten.manifest).toMatch(/Main-Class: software\.amazon\.dynamodb\.services\.local\.main\.ServerRunner\r\n/);
    expect(rewritten.manifest).toMatch(/Bundle-License: .*\r\n t\)\r\n/);
    expect(rewritten.manifest.endsWith('\r\n\r\n')).toBe(true);
    expect(entryNames(original.rewrite())).toEqual(entryNames(jar));
  });

  it('refuses something that is not a zip file', () => {
    expect(() => withoutClassPath(Buffer.from('not a jar at all, just text'))).toThrow(/not a zip file/);
  });
});

/** The names in a zip's central directory, in order. */
function entryNames(zip: Buffer): string[] {
  let eocd = zip.length - 22;
  while (zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const names: string[] = [];
  for (let p = zip.readUInt32LE(eocd + 16), n = 0; n < zip.readUInt16LE(eocd + 10); n++) {
    const length = zip.readUInt16LE(p + 28);
    names.push(zip.toString('utf8', p + 46, p + 46 + length));
    p += 46 + length + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return names;
}
