// Client 360 as the screen shows it, from a gateway answer with parts missing (no running services).
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router';
import i18n from '../../i18n';
import { AuthContext, type AuthContextValue } from '../../auth/context';
import type { User } from '../../api/types';
import ClientPage from './ClientPage';
import type { Client, Client360 } from './records';

// The API client keeps the fetch it found when it was made: answer through it from the start.
const net = vi.hoisted(() => {
  const state: { answer: (url: string) => Response } = { answer: () => new Response('{}') };
  globalThis.fetch = ((input: Request | string) => Promise.resolve(state.answer(typeof input === 'string' ? input : input.url))) as typeof fetch;
  return state;
});

const PARENT = '23208125-88f2-4f35-a1f9-abb5bda24e67';
const ID = 'cb8486f3-3195-4c16-898e-d99e6d7d3bae';
const CHILD = '9e36c7ec-30c4-41c8-be96-00e9c94b1f3c';

const user: User = {
  id: 'e8d88892-8767-4c2d-afba-b5a288970382',
  name: 'Maria Papadopoulou',
  email: 'maria.manager@insureops.example.com',
  role: 'Manager',
  department_id: '46ba099d-971d-4c2b-9ad6-d7c67d8bbe22',
  active: true,
  created_at: '2026-12-02T06:21:29Z',
  updated_at: '2026-12-02T06:21:29Z',
};

function client(id: string, name: string, over: Partial<Client> = {}): Client {
  return {
    id,
    kind: 'company',
    name,
    tax_id: null,
    country: 'GR',
    email: null,
    phone: null,
    address: null,
    department_id: user.department_id ?? '',
    parent_id: null,
    status: 'prospect',
    active_contracts: 0,
    archived: false,
    created_at: '2026-12-02T06:21:29Z',
    updated_at: '2026-12-02T06:21:29Z',
    status_changed_at: null,
    ...over,
  };
}

const view: Client360 = {
  client_id: ID,
  client: client(ID, 'Aegean Maritime Logistics Ltd', { parent_id: PARENT, status: 'active' }),
  hierarchy: {
    ancestors: [{ ...client(PARENT, 'Aegean Maritime Group S.A.'), depth: 1 }],
    children: { items: [client(CHILD, 'Aegean Tugs', { parent_id: ID, status: 'inactive' })], total: 1, limit: 20, offset: 0 },
    subtree: null,
  },
  contracts: null,
  opportunities: { items: [], total: 0, limit: 20, offset: 0 },
  open_tasks: null,
  documents: null,
  history: {
    items: [
      {
        id: 7,
        seq: 7,
        event_id: 'e7',
        event_type: 'clients.client.updated',
        event_version: 1,
        source: 'clients',
        aggregate_type: 'clients.client',
        aggregate_id: ID,
        client_id: ID,
        actor_type: 'user',
        actor_id: user.id,
        occurred_at: '2026-12-02T07:00:00Z',
        recorded_at: '2026-12-02T07:00:00Z',
        correlation_id: null,
        causation_id: null,
        trace_id: null,
        changes: [{ field: 'phone', before: '+30 210 1', after: '+30 210 2' }],
        data: {},
        prev_hash: '0',
        hash: '1',
      },
    ],
    limit: 20,
    next_cursor: null,
  },
  missing: [
    { part: 'subtree', reason: 'timeout', status: null, detail: 'no answer in 1.5 s' },
    { part: 'contracts', reason: 'unavailable', status: null, detail: 'connection refused' },
    { part: 'open_tasks', reason: 'error', status: 500, detail: 'the tasks service answered 500' },
  ],
  complete: false,
  generated_at: '2026-12-02T07:00:01Z',
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

beforeAll(() => {
  Object.defineProperty(window, 'matchMedia', {
    writable: true,
    value: (query: string) => ({ matches: false, media: query, onchange: null, addEventListener: () => {}, removeEventListener: () => {}, addListener: () => {}, removeListener: () => {}, dispatchEvent: () => false }),
  });
  window.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

afterEach(() => {
  cleanup();
});

function renderAt(path: string, answer: (url: string) => Response) {
  net.answer = answer;
  const auth: AuthContextValue = { state: { status: 'authenticated', user }, signIn: async () => {}, signOut: async () => {} };
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <MantineProvider>
      <QueryClientProvider client={queryClient}>
        <AuthContext.Provider value={auth}>
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path="/clients/:id" element={<ClientPage />} />
            </Routes>
          </MemoryRouter>
        </AuthContext.Provider>
      </QueryClientProvider>
    </MantineProvider>,
  );
}

function gateway(url: string): Response {
  if (url.includes('/360')) return json(view);
  if (url.includes('/api/v1/users')) return json({ items: [user], total: 1, limit: 200, offset: 0 });
  if (url.includes('/api/v1/departments')) return json({ items: [], total: 0, limit: 200, offset: 0 });
  return json({ type: 'about:blank', title: 'Not found', status: 404, detail: '' }, 404);
}

describe('Client 360', () => {
  it('shows what came and says which parts are unavailable right now', async () => {
    await i18n.changeLanguage('en');
    renderAt(`/clients/${ID}`, gateway);
    expect(await screen.findByRole('heading', { level: 1, name: 'Aegean Maritime Logistics Ltd' })).toBeTruthy();
    expect(screen.getByTestId('client-status').textContent).toBe('Active');
    // the tree: the parent links to its own 360, the subsidiary too
    expect(screen.getByRole('link', { name: 'Aegean Maritime Group S.A.' }).getAttribute('href')).toBe(`/clients/${PARENT}`);
    expect(screen.getByRole('link', { name: 'Aegean Tugs' }).getAttribute('href')).toBe(`/clients/${CHILD}`);
    expect(screen.getByTestId('subsidiary-status').textContent).toBe('Inactive');
    // the missing parts
    expect(within(screen.getByTestId('missing-contracts')).getByText('Contracts: unavailable right now')).toBeTruthy();
    expect(within(screen.getByTestId('missing-open_tasks')).getByText('Open tickets: unavailable right now')).toBeTruthy();
    expect(within(screen.getByTestId('missing-subtree')).getByText(/unavailable right now/)).toBeTruthy();
    // what did come
    expect(screen.getByText('No deals yet.')).toBeTruthy();
    const change = screen.getByTestId('change-phone');
    expect(change.textContent).toContain('Phone');
    expect(change.textContent).toContain('+30 210 1');
    expect(change.textContent).toContain('+30 210 2');
    expect(screen.getByText(/Maria Papadopoulou ·/)).toBeTruthy();
  });

  it('says "not found" for a client the API answers 404 for', async () => {
    renderAt(`/clients/${ID}`, (url) => (url.includes('/360') ? json({ type: 'about:blank', title: 'Not found', status: 404, detail: 'no client' }, 404) : gateway(url)));
    expect(await screen.findByTestId('not-found')).toBeTruthy();
  });
});
