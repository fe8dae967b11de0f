import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App } from '../../App';
import i18n from '../../i18n';

const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: 't', title: 'x', status, detail: '', ...body }), { status, headers: { 'Content-Type': 'application/problem+json', ...headers } });

function serve(onToken: () => Response) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith('/api/v1/auth/refresh')) return new Response(null, { status: 401 });
      if (url.endsWith('/api/v1/auth/token')) return onToken();
      return new Response('{}', { status: 404 });
    }),
  );
}

async function submit(email: string, password: string) {
  render(<App />);
  const emailInput = await screen.findByLabelText(/^Email/, undefined, { timeout: 10000 });
  fireEvent.change(emailInput, { target: { value: email } });
  fireEvent.change(screen.getByLabelText(/^Password/), { target: { value: password } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  window.history.replaceState(null, '', '/');
});

describe('Login', { timeout: 30000 }, () => {
  it('redirects to /login and says what is missing next to the fields', async () => {
    serve(() => new Response('{}'));
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Sign in' }, { timeout: 10000 }));
    expect(await screen.findByText('Enter your email.')).toBeTruthy();
    expect(screen.getByText('Enter your password.')).toBeTruthy();
    expect(window.location.pathname).toBe('/login');
  });

  it("puts the API's field errors next to the fields (body.username → email)", async () => {
    serve(() => problem(422, { errors: [{ field: 'body.username', message: 'not an email' }, { field: 'body.password', message: 'too short' }] }));
    await submit('kostas', 'x');
    expect(await screen.findByText('not an email')).toBeTruthy();
    expect(screen.getByText('too short')).toBeTruthy();
  });

  it('says plainly when the password is wrong, and how long to wait when rate limited', async () => {
    serve(() => problem(401, { detail: 'incorrect email or password' }));
    await submit('kostas@insureops.example.com', 'wrong');
    expect((await screen.findByTestId('login-error')).textContent).toBe('The email or password is not right.');
    cleanup();
    serve(() => problem(429, { detail: 'slow down' }, { 'Retry-After': '7' }));
    await submit('kostas@insureops.example.com', 'wrong');
    expect((await screen.findByTestId('login-error')).textContent).toBe('Too many requests. Please wait 7 seconds and try again.');
  });

  it('speaks Greek and sets <html lang>', async () => {
    serve(() => new Response('{}'));
    await i18n.changeLanguage('el');
    try {
      render(<App />);
      expect(await screen.findByRole('button', { name: 'Σύνδεση' }, { timeout: 10000 })).toBeTruthy();
      await waitFor(() => expect(document.documentElement.lang).toBe('el'));
    } finally {
      await i18n.changeLanguage('en');
    }
    expect(document.documentElement.lang).toBe('en');
  });
});
