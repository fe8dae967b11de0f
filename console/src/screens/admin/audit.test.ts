import { describe, expect, it, vi } from 'vitest';
import { athensDayStartISO, exportQuery, fileNameFrom, formatBytes, NO_FILTERS, readExport, verifyInRanges, type VerifyRange } from './audit';
import type { VerifyReport } from './types';

/** A fake chain of `head` records, broken at `breakAt` (if given), answering like the API. */
function fakeChain(head: number, breakAt?: number) {
  const calls: [number, number | null][] = [];
  const verify: VerifyRange = async (from, to) => {
    calls.push([from, to]);
    const end = Math.min(to ?? head, head);
    const broken = breakAt !== undefined && breakAt >= from && breakAt <= end;
    const last = broken ? breakAt - 1 : end;
    const checked = Math.max(0, last - from + 1);
    const report: VerifyReport = {
      ok: !broken,
      from_seq: from,
      to_seq: to,
      checked,
      last_checked_seq: checked ? last : null,
      chain_head: { seq: head, hash: 'h' },
      sealed_from_seq: 1,
      seals_checked: checked,
      seal_key_configured: true,
      latest_checkpoint: null,
      break: broken ? { seq: breakAt, reason: 'hash_mismatch', meaning: 'changed', detail: `record ${breakAt}` } : null,
    };
    return report;
  };
  return { verify, calls };
}

describe('verifying the chain in ranges', () => {
  it('walks the whole chain in about `steps` ranges, the last one to the end, reporting progress', async () => {
    const { verify, calls } = fakeChain(4575);
    const progress: number[] = [];
    const r = await verifyInRanges(verify, { steps: 5, minChunk: 100, onProgress: (p) => progress.push(Math.round((100 * p.checked) / p.total)) });
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(4575);
    expect(r.seals_checked).toBe(4575); // every range's seals, not the last one's
    expect(r.from_seq).toBe(1);
    expect(r.to_seq).toBeNull();
    expect(calls[0]).toEqual([1, 1]);
    expect(calls.at(-1)![1]).toBeNull();
    // contiguous ranges, none overlapping
    for (let i = 2; i < calls.length; i++) expect(calls[i]![0]).toBe((calls[i - 1]![1] ?? 0) + 1);
    expect(calls.length).toBe(6); // the first record, then five ranges of 915
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('stops at the first break and reports it', async () => {
    const { verify, calls } = fakeChain(5000, 1234);
    const r = await verifyInRanges(verify, { steps: 10, minChunk: 100 });
    expect(r.ok).toBe(false);
    expect(r.break?.seq).toBe(1234);
    expect(r.checked).toBe(1233);
    expect(calls.length).toBe(4); // 1, 2..501, 502..1001, 1002..1501
  });

  it('checks an asked range only, up to its end', async () => {
    const { verify, calls } = fakeChain(9000);
    const r = await verifyInRanges(verify, { fromSeq: 100, toSeq: 1099, steps: 2, minChunk: 10 });
    expect(r.checked).toBe(1000);
    expect(r.to_seq).toBe(1099);
    expect(calls).toEqual([
      [100, 100],
      [101, 600],
      [601, 1099],
    ]);
  });

  it('a chain of one record still has its head checked; a broken first record stops at once', async () => {
    const one = fakeChain(1);
    expect((await verifyInRanges(one.verify)).checked).toBe(1);
    expect(one.calls).toEqual([
      [1, 1],
      [2, null],
    ]);
    const broken = fakeChain(10, 1);
    const r = await verifyInRanges(broken.verify);
    expect(r.ok).toBe(false);
    expect(broken.calls.length).toBe(1);
  });

  it('can be stopped', async () => {
    const controller = new AbortController();
    const { verify } = fakeChain(10_000);
    const slow: VerifyRange = async (f, t, s) => {
      controller.abort();
      return verify(f, t, s);
    };
    await expect(verifyInRanges(slow, { signal: controller.signal })).rejects.toThrow(/stopped/);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      chunks.forEach((x) => c.enqueue(enc.encode(x)));
      c.close();
    },
  });
}

describe('reading the export', () => {
  it('counts JSON lines as they arrive and keeps every byte', async () => {
    const seen = vi.fn();
    const r = await readExport(streamOf(['{"seq":1}\n{"se', 'q":2}\n', '{"seq":3}\n']), 'jsonl', seen);
    expect(r.records).toBe(3);
    expect(r.bytes).toBe(30);
    expect(seen).toHaveBeenLastCalledWith({ bytes: 30, records: 3 });
    expect(r.blob.size).toBe(30);
    expect(r.blob.type).toBe('application/x-ndjson');
  });

  it('does not count the CSV header as a record', async () => {
    const r = await readExport(streamOf(['seq,id\n', '1,a\n2,b\n']), 'csv');
    expect(r.records).toBe(2);
    expect(r.blob.type).toContain('text/csv');
  });

  it('takes the file name from Content-Disposition, safely', () => {
    expect(fileNameFrom('attachment; filename="audit-export-20261202T064000Z.csv"', 'x.csv')).toBe('audit-export-20261202T064000Z.csv');
    expect(fileNameFrom("attachment; filename*=UTF-8''audit%20%CE%B1.jsonl", 'x')).toBe('audit α.jsonl');
    expect(fileNameFrom('attachment; filename="../../etc/passwd"', 'x')).toBe('.._.._etc_passwd');
    expect(fileNameFrom(null, 'audit.jsonl')).toBe('audit.jsonl');
    expect(fileNameFrom('attachment', 'audit.jsonl')).toBe('audit.jsonl');
  });
});

describe('dates for the export filters', () => {
  it('gives the instant an Athens day starts, summer and winter', () => {
    expect(athensDayStartISO('2026-07-01')).toBe('2026-06-30T21:00:00.000Z');
    expect(athensDayStartISO('2026-01-15')).toBe('2026-01-14T22:00:00.000Z');
    expect(athensDayStartISO('2026-03-29')).toBe('2026-03-28T22:00:00.000Z'); // clocks go forward at 03:00
    expect(athensDayStartISO('2026-10-25')).toBe('2026-10-24T21:00:00.000Z'); // and back at 04:00
  });
  it('gives the start of the next day for an inclusive last day', () => {
    expect(athensDayStartISO('2026-12-31', true)).toBe('2026-12-31T22:00:00.000Z');
    expect(athensDayStartISO('2026-03-28', true)).toBe('2026-03-28T22:00:00.000Z');
    expect(athensDayStartISO('bad')).toBeNull();
  });
  it('formats sizes', () => {
    expect(formatBytes(512, 'en')).toBe('512 byte');
    expect(formatBytes(2048, 'en')).toBe('2 kB');
  });
});

describe('the export query', () => {
  it('leaves blank filters out and reads days as Athens days, the last one included', () => {
    expect(exportQuery('csv', 'desc', NO_FILTERS)).toEqual({ format: 'csv', order: 'desc' });
    expect(exportQuery('jsonl', 'asc', { ...NO_FILTERS, event_type: ' identity.user.created ', actor_id: '  ', since: '2026-12-01', until: '2026-12-01' })).toEqual({
      format: 'jsonl',
      order: 'asc',
      event_type: 'identity.user.created',
      since: '2026-11-30T22:00:00.000Z',
      until: '2026-12-01T22:00:00.000Z',
    });
  });
});
