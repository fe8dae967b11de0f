// The access token lives here, in memory only: never localStorage/sessionStorage, never a URL.
import type { TokenOut } from '../api/types';

interface Stored {
  value: string;
  /** epoch ms */
  expiresAt: number;
}

let current: Stored | null = null;
const listeners = new Set<() => void>();

export function getAccessToken(): string | null {
  return current?.value ?? null;
}

export function getTokenExpiry(): number | null {
  return current?.expiresAt ?? null;
}

export function setAccessToken(token: TokenOut, now: number = Date.now()): void {
  current = { value: token.access_token, expiresAt: now + token.expires_in * 1000 };
  listeners.forEach((l) => l());
}

export function clearAccessToken(): void {
  if (!current) return;
  current = null;
  listeners.forEach((l) => l());
}

export function subscribeToken(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
