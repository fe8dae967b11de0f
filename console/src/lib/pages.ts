// Every item of a list endpoint: lists answer pages ({ items, total, limit, offset }), so a screen that
// needs the whole list (the stages, the insurance lines) asks page after page until it has them all.

export const PAGE_LIMIT = 200;

export interface ListPage<T> {
  items: T[];
  total: number;
}

export async function allPages<T>(fetchPage: (offset: number) => Promise<ListPage<T>>): Promise<T[]> {
  const items: T[] = [];
  for (;;) {
    const page = await fetchPage(items.length);
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) return items;
  }
}
