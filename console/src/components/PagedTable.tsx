import { Table, Text } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ListPager } from './ListPager';
import { Loading } from './Loading';
import { ProblemAlert } from './ProblemAlert';

export interface PagedItems<T> {
  items: T[];
  total: number;
}

/**
 * A list screen's page of records: loading, the problem, the empty sentence, or the table (dimmed while the
 * next page loads) with its pager. Test ids: `<testId>-table`, `<testId>-empty`.
 */
export function PagedTable<T>({
  query,
  testId,
  empty,
  minWidth,
  headers,
  row,
  page,
  pageSize,
  onPage,
  pagerLabel,
}: {
  query: UseQueryResult<PagedItems<T>>;
  testId: string;
  empty: ReactNode;
  minWidth: number;
  headers: ReactNode[];
  row: (item: T) => ReactNode;
  page: number;
  pageSize: number;
  onPage: (page: number) => void;
  pagerLabel: string;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ProblemAlert error={query.error} />;
  const data = query.data;
  if (data.items.length === 0) return <Text data-testid={`${testId}-empty`}>{empty}</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={minWidth}>
        <Table striped highlightOnHover verticalSpacing="xs" aria-labelledby="page-heading" data-testid={`${testId}-table`}>
          <Table.Thead>
            <Table.Tr>
              {headers.map((header, i) => (
                <Table.Th key={i} scope="col">
                  {header}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody style={{ opacity: query.isPlaceholderData ? 0.6 : 1 }}>{data.items.map(row)}</Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <ListPager total={data.total} page={page} pageSize={pageSize} onChange={onPage} label={pagerLabel} />
    </>
  );
}
