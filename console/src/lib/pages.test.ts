import { describe, expect, it } from 'vitest';
import { allPages } from './pages';

describe('allPages', () => {
  it('asks page after page until it has the total', async () => {
    const all = Array.from({ length: 5 }, (_, i) => i);
    const asked: number[] = [];
    const items = await allPages(async (offset) => {
      asked.push(offset);
      return { items: all.slice(offset, offset + 2), total: all.length };
    });
    expect(items).toEqual(all);
    expect(asked).toEqual([0, 2, 4]);
  });

  it('stops on an empty page even if the total said more (the list shrank meanwhile)', async () => {
    const items = await allPages(async (offset) => ({ items: offset === 0 ? ['a'] : [], total: 3 }));
    expect(items).toEqual(['a']);
  });
});
