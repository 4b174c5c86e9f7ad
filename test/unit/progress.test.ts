import { clearProgress, startProgress } from '../../bin/commands/progress';

/** A terminal stand-in: what was written, and whether it claims to be a TTY. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 60, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream, written };
}

describe('progress on stderr', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('says nothing for work done within a second', () => {
    const { stream, written } = terminal(true);
    const progress = startProgress({}, stream);
    progress.watch(() => 'starting DynamoDB Local');
    jest.advanceTimersByTime(900);
    progress.done();
    expect(written).toEqual([]);
  });

  it('draws one line in place after a second, redraws what is happening now, and erases it when done', () => {
    const { stream, written } = terminal(true);
    const progress = startProgress({}, stream);
    let pages = 0;
    progress.watch(() => `snapshot acme: ${pages} pages fetched`);
    jest.advanceTimersByTime(1_000);
    pages = 8;
    jest.advanceTimersByTime(250);
    progress.done();
    expect(written).toEqual([
      '\r\x1b[2K\x1b[2msnapshot acme: 0 pages fetched…\x1b[22m',
      '\r\x1b[2K\x1b[2msnapshot acme: 8 pages fetched…\x1b[22m',
      '\r\x1b[2K',
    ]);
    jest.advanceTimersByTime(5_000);
    expect(written).toHaveLength(3);
  });

  it('keeps quiet with --json and when stderr is not a terminal', () => {
    for (const [flags, tty] of [
      [{ json: true }, true],
      [{}, false],
    ] as const) {
      const { stream, written } = terminal(tty);
      startProgress(flags, stream).watch(() => 'busy');
      jest.advanceTimersByTime(5_000);
      expect(written).toEqual([]);
    }
  });

  it('is erased before a result is printed, and never comes back', () => {
    const { stream, written } = terminal(true);
    startProgress({}, stream).watch(() => 'busy');
    jest.advanceTimersByTime(1_000);
    clearProgress();
    jest.advanceTimersByTime(5_000);
    expect(written).toEqual(['\r\x1b[2K\x1b[2mbusy…\x1b[22m', '\r\x1b[2K']);
  });
});
