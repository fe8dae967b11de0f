// usePeople / usePersonName over the real batcher: the names several components ask for in one
// render go out as one request, and a name asked for again comes from the cache.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { usePeople, usePersonName } from './people';

const net = vi.hoisted(() => {
  const state = { asked: [] as URL[] };
  globalThis.fetch = ((input: Request | string) => {
    const url = new URL(typeof input === 'string' ? input : input.url, 'http://localhost');
    state.asked.push(url);
    const people = url.searchParams.getAll('ids').filter((id) => !id.endsWith('9')).map((id) => ({ id, name: `Name ${id.slice(-1)}`, department_id: null, active: true }));
    return Promise.resolve(new Response(JSON.stringify(people), { status: 200, headers: { 'Content-Type': 'application/json' } }));
  }) as typeof fetch;
  return state;
});

const A = '00000000-0000-4000-8000-000000000001';
const B = '00000000-0000-4000-8000-000000000002';
const UNKNOWN = '00000000-0000-4000-8000-000000000009';

function One({ id }: { id: string }) {
  return <span data-testid={`one-${id}`}>{usePersonName(id) ?? '…'}</span>;
}
function Many({ ids }: { ids: (string | null)[] }) {
  const people = usePeople(ids);
  return <span data-testid="many">{[...people.values()].map((p) => p.name).join(', ')}</span>;
}

afterEach(() => {
  cleanup();
  net.asked = [];
});

describe('usePeople', () => {
  it('asks once for the ids of components rendered together, each id once', async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <One id={A} />
        <One id={B} />
        <Many ids={[A, B, UNKNOWN, null, 'not-an-id']} />
      </QueryClientProvider>,
    );
    await waitFor(() => expect(screen.getByTestId('many').textContent).toBe('Name 1, Name 2'));
    expect(screen.getByTestId(`one-${A}`).textContent).toBe('Name 1');
    expect(screen.getByTestId(`one-${B}`).textContent).toBe('Name 2');
    expect(net.asked).toHaveLength(1);
    expect(net.asked[0]?.pathname).toBe('/api/v1/people');
    expect(net.asked[0]?.searchParams.getAll('ids').sort()).toEqual([A, B, UNKNOWN]);

    // mounted again: from the cache, no new request
    cleanup();
    render(
      <QueryClientProvider client={client}>
        <One id={A} />
      </QueryClientProvider>,
    );
    expect(screen.getByTestId(`one-${A}`).textContent).toBe('Name 1');
    expect(net.asked).toHaveLength(1);
  });
});
