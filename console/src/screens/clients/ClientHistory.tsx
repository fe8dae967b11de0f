// A client's audit history, newest first: each change with who, when, and every field's before → after.
import { useState } from 'react';
import { Anchor, Button, Group, Paper, Stack, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { usePeople } from '../../api/people';
import { useCurrentUser } from '../../auth/context';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useLang } from '../../i18n/useLang';
import { formatDate, formatDateTime, formatMoney } from '../../lib/format';
import { useDepartmentDirectory, useStageNames, useUserDirectory } from '../tickets/directory';
import { historyLine, userIdsOf, type Lookups, type Translate } from './history';
import { clientHistoryPage } from './queries';
import type { AuditPage, AuditRecord } from './records';

export function ClientHistory({ clientId, first, clientNames }: { clientId: string; first: AuditPage; clientNames?: Map<string, string> }) {
  const { t, i18n } = useTranslation('clients');
  const lang = useLang();
  const user = useCurrentUser();
  const { byId: users } = useUserDirectory();
  const { byId: departments } = useDepartmentDirectory();
  const stages = useStageNames();
  const [older, setOlder] = useState<AuditRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(first.next_cursor);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const records = [...first.items, ...older];
  // people outside the caller's directory (other departments) by name too
  const people = usePeople(userIdsOf(records));
  const tr: Translate = (key, values) => (i18n.exists(key, { ns: 'clients' }) ? t(key, values) : undefined);
  const lookups: Lookups = {
    user: (id) => (id === user.id ? user.name : (users.get(id)?.name ?? people.get(id)?.name)),
    department: (id) => departments.get(id)?.name,
    client: (id) => clientNames?.get(id),
    date: (value, kind) => (kind === 'instant' ? formatDateTime(value, lang) : formatDate(value, lang)),
    money: (amount, currency) => formatMoney(amount, currency, lang),
    stage: (key) => stages.get(key),
  };

  const loadOlder = async () => {
    if (!cursor) return;
    setLoading(true);
    setError(null);
    try {
      const page = await clientHistoryPage(clientId, cursor);
      setOlder((o) => [...o, ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  if (records.length === 0) return <Text size="sm">{t('history.none')}</Text>;
  return (
    <Stack gap="sm">
      <Stack gap="sm" component="ol" p={0} m={0} style={{ listStyle: 'none' }} data-testid="client-history">
        {records.map((record) => {
          const line = historyLine(record, tr, lookups);
          const headingId = `history-${line.id}`;
          return (
            <li key={line.id} data-testid="history-entry" aria-labelledby={headingId}>
              <Paper withBorder p="sm" radius="sm">
                <Group gap="xs" wrap="wrap" id={headingId}>
                  <Text size="sm" fw={600}>
                    {line.link && line.kind !== 'client' ? (
                      <Anchor component={Link} to={line.link}>
                        {line.what}
                      </Anchor>
                    ) : (
                      line.what
                    )}
                  </Text>
                  <Text size="sm" c="dimmed">
                    {t('history.byAt', { who: line.who, time: formatDateTime(line.at, lang) })}
                  </Text>
                </Group>
                {line.summary && (
                  <Text size="sm" mt={4} lineClamp={4} style={{ overflowWrap: 'anywhere', whiteSpace: 'pre-wrap' }}>
                    {line.summary}
                  </Text>
                )}
                {line.changes.length > 0 && (
                  <Table mt="xs" fz="sm" verticalSpacing={4} withRowBorders={false} data-testid="history-changes">
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th scope="col" w="25%">
                          {t('history.field')}
                        </Table.Th>
                        <Table.Th scope="col">{t('history.before')}</Table.Th>
                        <Table.Th scope="col">{t('history.after')}</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {line.changes.map((c) => (
                        <Table.Tr key={c.field} data-testid={`change-${c.field}`}>
                          <Table.Th scope="row" fw={500}>
                            {c.label}
                          </Table.Th>
                          <Table.Td style={{ overflowWrap: 'anywhere' }} c={c.before === '—' ? 'dimmed' : undefined}>
                            {c.before}
                          </Table.Td>
                          <Table.Td style={{ overflowWrap: 'anywhere' }}>
                            <span aria-hidden="true">→ </span>
                            {c.after}
                          </Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                )}
              </Paper>
            </li>
          );
        })}
      </Stack>
      {error !== null && <ProblemAlert error={error} />}
      {cursor && user.role !== 'Employee' && (
        <Group>
          <Button variant="default" onClick={() => void loadOlder()} loading={loading}>
            {t('history.older')}
          </Button>
        </Group>
      )}
    </Stack>
  );
}
