import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { isNotFound } from '../lib/problem';
import { Stack } from '@mantine/core';
import { Loading } from './Loading';
import { PageHeading } from './PageHeading';
import { NotFound } from './NotFound';
import { ProblemAlert } from './ProblemAlert';

/** Loading → the record, a plain "not found" for a 404, or the error as a sentence. */
export function RecordQuery<T>({ query, what, children }: { query: UseQueryResult<T>; what: string; children: (data: T) => ReactNode }) {
  if (query.isError && isNotFound(query.error)) return <NotFound what={what} />;
  if (query.isPending || query.isError)
    return (
      <Stack gap="md">
        <PageHeading title={what}>{what}</PageHeading>
        {query.isPending ? <Loading /> : <ProblemAlert error={query.error} />}
      </Stack>
    );
  return <>{children(query.data)}</>;
}
