// Names of people by id, across departments (GET /api/v1/people?ids=…, for anyone signed in).
// Each id is its own TanStack Query entry (['people', id]), so a name asked for anywhere is
// cached for every screen; the ids asked for in the same tick go out together, 200 per request.
import { useQueries } from '@tanstack/react-query';
import type { components } from './schema';
import { api, unwrap } from './client';

export type Person = components['schemas']['PersonOut'];

/** The most ids the API takes in one request. */
export const PEOPLE_CHUNK = 200;

export const peopleKeys = {
  all: ['people'] as const,
  one: (id: string) => ['people', id] as const,
};

type Fetch = (ids: string[]) => Promise<Person[]>;

const fetchPeople: Fetch = (ids) => unwrap(api.GET('/api/v1/people', { params: { query: { ids } } }));

interface Waiting {
  resolve: (p: Person | null) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects the ids asked for until the current task ends, then asks for them in chunks of
 * `PEOPLE_CHUNK` (each id once). An id the API does not know resolves to null.
 */
export function createPeopleBatcher(fetch: Fetch = fetchPeople, schedule: (run: () => void) => void = (run) => setTimeout(run, 0)) {
  let waiting = new Map<string, Waiting[]>();
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const batch = waiting;
    waiting = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += PEOPLE_CHUNK) {
      const chunk = ids.slice(i, i + PEOPLE_CHUNK);
      fetch(chunk).then(
        (people) => {
          const byId = new Map(people.map((p) => [p.id, p] as const));
          for (const id of chunk) for (const w of batch.get(id) ?? []) w.resolve(byId.get(id) ?? null);
        },
        (e: unknown) => {
          for (const id of chunk) for (const w of batch.get(id) ?? []) w.reject(e);
        },
      );
    }
  };

  return function load(id: string): Promise<Person | null> {
    return new Promise((resolve, reject) => {
      const list = waiting.get(id);
      if (list) list.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    });
  };
}

const loadPerson = createPeopleBatcher();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The people with these ids (null, undefined, repeats and non-ids are skipped), as a map by id;
 * an id missing from the map is still loading, unknown to the API, or could not be asked.
 */
export function usePeople(ids: readonly (string | null | undefined)[]): Map<string, Person> {
  const wanted = [...new Set(ids.filter((id): id is string => !!id && UUID.test(id)))];
  return useQueries({
    queries: wanted.map((id) => ({
      queryKey: peopleKeys.one(id),
      queryFn: () => loadPerson(id),
      staleTime: 10 * 60_000,
    })),
    combine: byId,
  });
}

function byId(results: { data?: Person | null }[]): Map<string, Person> {
  const out = new Map<string, Person>();
  for (const r of results) if (r.data) out.set(r.data.id, r.data);
  return out;
}

/** One person's name (undefined while loading or when unknown). */
export function usePersonName(id: string | null | undefined): string | undefined {
  return usePeople([id]).get(id ?? '')?.name;
}
