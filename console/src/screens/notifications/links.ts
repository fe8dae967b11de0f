// Where a notification's link leads in the console.

/** A record a notification is about (`LinkOut`; `client` is accepted too should the API add it). */
export interface RecordLink {
  type: string;
  id: string;
}

const ROUTES: Record<string, string> = {
  task: '/tickets',
  opportunity: '/opportunities',
  contract: '/contracts',
  client: '/clients',
};

/** The console route of a linked record, or null for a type the console has no screen for. */
export function linkRoute(link: RecordLink | null | undefined): string | null {
  if (!link || typeof link.id !== 'string' || !link.id) return null;
  const base = Object.hasOwn(ROUTES, link.type) ? ROUTES[link.type] : undefined;
  return base ? `${base}/${encodeURIComponent(link.id)}` : null;
}
