// The cancel dialog shows the contracts service's own quote for the chosen date (no refund rule
// in the console): asked once the date has settled, per contract and date, a 422 on the field.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import i18n from '../../i18n';
import { CancelDialog } from './CancelDialog';
import type { Contract } from '../clients/records';

const net = vi.hoisted(() => {
  const state: { answer: (url: URL) => Response; asked: URL[] } = { answer: () => new Response('{}'), asked: [] };
  globalThis.fetch = ((input: Request | string) => {
    const url = new URL(typeof input === 'string' ? input : input.url, 'http://localhost');
    state.asked.push(url);
    return Promise.resolve(state.answer(url));
  }) as typeof fetch;
  return state;
});

const contract: Contract = {
  id: '2e57b1e6-0460-4207-833f-75c1728567c4',
  client_id: '2f65828c-6cbc-4abf-8749-393fdf1adf37',
  opportunity_id: null,
  line_id: null,
  line_name: null,
  specialist_id: null,
  department_id: '46ba099d-971d-4c2b-9ad6-d7c67d8bbe22',
  origin: 'manual',
  status: 'active',
  premium: '17950.00',
  currency: 'EUR',
  start_date: '2026-12-02',
  end_date: '2027-12-02',
  insurer: 'Eurolife FFH',
  policy_number: 'EL-1',
  issue_date: '2026-12-02',
  cancel_reason: null,
  cancel_effective_date: null,
  refund: null,
  cancel_method: null,
  sum_insured: null,
  deductible: null,
  covered_items: [],
  version: 1,
  reinstated_at: null,
  created_at: '2026-12-02T07:45:49Z',
  updated_at: '2026-12-02T07:45:49Z',
  issued_at: '2026-12-02T07:45:49Z',
  activated_at: '2026-12-02T07:45:49Z',
  expired_at: null,
  cancelled_at: null,
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** The service's answers: a made-up refund per date (so the test can tell which date was asked). */
function service(url: URL): Response {
  const date = url.searchParams.get('effective_date') ?? '';
  if (!url.pathname.endsWith('/cancellation-quote')) return json({ status: 404, title: 'Not found', detail: '' }, 404);
  if (date > contract.end_date) {
    return json(
      {
        type: 'https://insureops.dev/problems/validation',
        title: 'Invalid input',
        status: 422,
        detail: "query.effective_date: must lie within the contract's period",
        errors: [{ field: 'query.effective_date', message: "must lie within the contract's period, 2026-12-02 to 2027-12-02" }],
      },
      422,
    );
  }
  return json({
    contract_id: contract.id,
    effective_date: date,
    premium: contract.premium,
    currency: 'EUR',
    refund: date === '2027-01-01' ? '16474.66' : '1.23',
    days_remaining: date === '2027-01-01' ? 335 : 1,
    days_in_term: 365,
  });
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
  net.asked = [];
});

function renderDialog() {
  net.answer = service;
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <MantineProvider>
      <QueryClientProvider client={queryClient}>
        <CancelDialog contract={contract} onClose={() => {}} onDone={() => {}} />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

const quotes = () => net.asked.filter((u) => u.pathname === `/api/v1/contracts/${contract.id}/cancellation-quote`).map((u) => u.searchParams.get('effective_date'));

describe('CancelDialog', () => {
  it("shows the service's quote for the chosen date, asked once the typing stops", async () => {
    await i18n.changeLanguage('en');
    renderDialog();
    const date = await screen.findByLabelText(/Effective date/);
    // three changes in quick succession: one question, for the last date
    fireEvent.change(date, { target: { value: '2026-12-20' } });
    fireEvent.change(date, { target: { value: '2026-12-25' } });
    fireEvent.change(date, { target: { value: '2027-01-01' } });
    await waitFor(() => expect(screen.getByTestId('refund-preview-amount').textContent).toMatch(/16,474\.66/), { timeout: 5000 });
    // the opening date's quote, then the last one typed: none of the dates passed through
    expect(quotes()).toHaveLength(2);
    expect(quotes()).not.toContain('2026-12-20');
    expect(quotes()).not.toContain('2026-12-25');
    expect(quotes()[1]).toBe('2027-01-01');
    expect(screen.getByTestId('refund-preview').textContent).toContain('335 days left ÷ 365 days');
  }, 20_000);

  it('puts the 422 of a date outside the period on the date field', async () => {
    await i18n.changeLanguage('en');
    renderDialog();
    const date = await screen.findByLabelText(/Effective date/);
    fireEvent.change(date, { target: { value: '2030-01-01' } });
    await waitFor(() => expect(screen.getByText(/must lie within the contract's period/)).toBeTruthy(), { timeout: 5000 });
    expect(date.getAttribute('aria-invalid')).toBe('true');
    expect(screen.queryByTestId('refund-preview-amount')).toBeNull();
    expect(screen.getByTestId('refund-preview').textContent).toContain('Choose an effective date between');
  }, 20_000);
});
