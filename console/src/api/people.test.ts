import { describe, expect, it, vi } from 'vitest';
import { createPeopleBatcher, PEOPLE_CHUNK, type Person } from './people';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const person = (pid: string): Person => ({ id: pid, name: `Person ${pid.slice(-4)}`, department_id: null, active: true });

function setup(answer: (ids: string[]) => Promise<Person[]> = (ids) => Promise.resolve(ids.map(person))) {
  const runs: (() => void)[] = [];
  const fetch = vi.fn(answer);
  const load = createPeopleBatcher(fetch, (run) => runs.push(run));
  const tick = () => runs.splice(0).forEach((run) => run());
  return { fetch, load, tick };
}

describe('createPeopleBatcher', () => {
  it('asks once for the ids of one tick, each id once', async () => {
    const { fetch, load, tick } = setup();
    const a = load(id(1));
    const b = load(id(2));
    const a2 = load(id(1));
    expect(fetch).not.toHaveBeenCalled();
    tick();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledWith([id(1), id(2)]);
    expect((await a)?.name).toBe('Person 0001');
    expect((await b)?.id).toBe(id(2));
    expect(await a2).toEqual(await a);
  });

  it('splits more than 200 ids into chunks of 200', async () => {
    const { fetch, load, tick } = setup();
    const all = Array.from({ length: 450 }, (_, i) => load(id(i)));
    tick();
    expect(fetch.mock.calls.map(([ids]) => ids.length)).toEqual([PEOPLE_CHUNK, PEOPLE_CHUNK, 50]);
    expect(new Set(fetch.mock.calls.flatMap(([ids]) => ids)).size).toBe(450);
    const people = await Promise.all(all);
    expect(people.map((p) => p?.id)).toEqual(Array.from({ length: 450 }, (_, i) => id(i)));
  });

  it('starts a new batch after a flush; an id the API does not know is null', async () => {
    const { fetch, load, tick } = setup((ids) => Promise.resolve(ids.filter((x) => x !== id(9)).map(person)));
    const first = load(id(1));
    tick();
    const second = load(id(9));
    tick();
    expect(fetch.mock.calls).toEqual([[[id(1)]], [[id(9)]]]);
    expect((await first)?.id).toBe(id(1));
    expect(await second).toBeNull();
  });

  it("rejects the waiting ids of a chunk that failed, not the other chunks'", async () => {
    const { load, tick } = setup((ids) => (ids.includes(id(0)) ? Promise.reject(new Error('down')) : Promise.resolve(ids.map(person))));
    const all = Array.from({ length: 201 }, (_, i) => load(id(i)));
    tick();
    const settled = await Promise.allSettled(all);
    expect(settled.slice(0, 200).every((s) => s.status === 'rejected')).toBe(true);
    expect(settled[200]).toEqual({ status: 'fulfilled', value: person(id(200)) });
  });
});
