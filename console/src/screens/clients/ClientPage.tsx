// Client 360: the client, its place in the corporate tree, contracts, deals, open tickets and its
// audit history, in one answer from the gateway. A part that did not come says so; the rest shows.
import { useState, type ReactNode } from 'react';
import { Alert, Anchor, Breadcrumbs, Button, Group, List, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Opportunity, Task } from '../../api/types';
import { PageHeading } from '../../components/PageHeading';
import { RecordQuery } from '../../components/RecordQuery';
import { SlaDot } from '../../components/SlaDot';
import { Unavailable } from '../../components/Unavailable';
import { useLang } from '../../i18n/useLang';
import { formatDate, formatDateTime, formatMoney, formatNumber, localeOf } from '../../lib/format';
import { ContractStatusBadge } from '../contracts/badges';
import { PriorityBadge, TaskStatusBadge } from '../tickets/badges';
import { usePeople } from '../../api/people';
import { useDepartmentDirectory, useUserDirectory } from '../tickets/directory';
import { Field } from '../../components/ui';
import { ClientStatusBadge } from './badges';
import { ClientFormDialog } from './ClientFormDialog';
import { ClientHistory } from './ClientHistory';
import { useClient360 } from './queries';
import type { Client, Client360, Contract, Missing } from './records';

export default function ClientPage() {
  const { t } = useTranslation('clients');
  const { id = '' } = useParams();
  const query = useClient360(id);
  return (
    <RecordQuery query={query} what={t('detail.what')}>
      {(view) => <ClientView key={view.client_id} view={view} />}
    </RecordQuery>
  );
}

function Section({ id, title, children, action }: { id: string; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id} data-testid={id}>
      <Group justify="space-between" mb="sm" wrap="wrap">
        <Title order={2} size="h4" id={id}>
          {title}
        </Title>
        {action}
      </Group>
      {children}
    </Paper>
  );
}

/** Names of the clients this answer knows (itself, its parents and subsidiaries), for the history. */
function treeNames(view: Client360): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of [...(view.hierarchy.ancestors ?? []), ...(view.hierarchy.children?.items ?? [])]) names.set(c.id, c.name);
  if (view.client) names.set(view.client.id, view.client.name);
  return names;
}

function miss(missing: Map<string, Missing>, part: string): Missing {
  return missing.get(part) ?? { part, reason: 'error', status: null, detail: '' };
}

/** A part listed in `missing`: "unavailable right now" (or, for a refusal, who may see it). */
function MissingPart({ part, what }: { part: Missing; what: string }) {
  const { t } = useTranslation('clients');
  if (part.reason === 'forbidden') {
    return (
      <Alert color="gray" variant="light" title={t('common:unavailable.title', { what })} data-testid={`missing-${part.part}`}>
        {t('detail.forbiddenPart')}
      </Alert>
    );
  }
  return (
    <div data-testid={`missing-${part.part}`}>
      <Unavailable what={what} />
    </div>
  );
}

function ClientView({ view }: { view: Client360 }) {
  const { t } = useTranslation('clients');
  const [editing, setEditing] = useState(false);
  const missing = new Map(view.missing.map((m) => [m.part, m] as const));
  const client = view.client;
  const title = client?.name ?? t('detail.what');

  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/clients" size="sm">
        {t('detail.back')}
      </Anchor>
      <Stack gap="xs">
        <Group justify="space-between" align="flex-start">
          <PageHeading title={title}>{title}</PageHeading>
          {client && !client.archived && (
            <Button variant="default" onClick={() => setEditing(true)}>
              {t('detail.edit')}
            </Button>
          )}
        </Group>
        {client && (
          <Group gap="sm">
            <ClientStatusBadge status={client.status} />
            <Text size="sm">{t(`kind.${client.kind}`)}</Text>
            {client.archived && (
              <Text size="sm" fw={600}>
                {t('archived')}
              </Text>
            )}
          </Group>
        )}
      </Stack>

      {client ? <Profile client={client} /> : <MissingPart part={miss(missing, 'client')} what={t('sections.profile')} />}
      <Tree view={view} missing={missing} />
      <ContractsPart view={view} missing={missing.get('contracts')} />
      <DealsPart view={view} missing={missing.get('opportunities')} />
      <TasksPart view={view} missing={missing.get('open_tasks')} />
      <Section id="client-history" title={t('sections.history')}>
        {view.history ? (
          <ClientHistory clientId={view.client_id} first={view.history} clientNames={treeNames(view)} />
        ) : (
          <MissingPart part={miss(missing, 'history')} what={t('sections.history')} />
        )}
      </Section>

      {editing && client && <ClientFormDialog opened client={client} onClose={() => setEditing(false)} />}
    </Stack>
  );
}

function Profile({ client }: { client: Client }) {
  const { t } = useTranslation('clients');
  const lang = useLang();
  const { byId: departments } = useDepartmentDirectory();
  return (
    <Section id="client-profile" title={t('sections.profile')}>
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} component="dl" m={0} spacing="sm">
        <Field label={t('form.taxId')}>{client.tax_id ?? '—'}</Field>
        <Field label={t('form.country')}>{client.country ?? '—'}</Field>
        <Field label={t('form.email')}>{client.email ? <Anchor href={`mailto:${client.email}`}>{client.email}</Anchor> : '—'}</Field>
        <Field label={t('form.phone')}>{client.phone ?? '—'}</Field>
        <Field label={t('form.address')}>{client.address ?? '—'}</Field>
        <Field label={t('form.department')}>{departments.get(client.department_id)?.name ?? '—'}</Field>
        <Field label={t('detail.activeContracts')}>{formatNumber(client.active_contracts, lang)}</Field>
        <Field label={t('detail.statusSince')}>{client.status_changed_at ? formatDateTime(client.status_changed_at, lang) : t('detail.sinceCreated')}</Field>
        <Field label={t('detail.created')}>{formatDateTime(client.created_at, lang)}</Field>
      </SimpleGrid>
    </Section>
  );
}

function Tree({ view, missing }: { view: Client360; missing: Map<string, Missing> }) {
  const { t } = useTranslation('clients');
  const lang = useLang();
  const { ancestors, children, subtree } = view.hierarchy;
  const name = view.client?.name ?? t('detail.what');
  const what = t('sections.tree');
  return (
    <Section id="client-tree" title={what}>
      <Stack gap="md">
        {ancestors ? (
          ancestors.length ? (
            <nav aria-label={t('tree.path')}>
              <Breadcrumbs separator="›" separatorMargin={6} style={{ flexWrap: 'wrap' }}>
                {[...ancestors].reverse().map((a) => (
                  <Anchor key={a.id} component={Link} to={`/clients/${a.id}`} data-testid="client-ancestor">
                    {a.name}
                  </Anchor>
                ))}
                <Text component="span" fw={600} aria-current="page">
                  {name}
                </Text>
              </Breadcrumbs>
            </nav>
          ) : (
            <Text size="sm">{t('tree.root')}</Text>
          )
        ) : (
          <MissingPart part={miss(missing, 'ancestors')} what={t('tree.parents')} />
        )}

        <div>
          <Text fw={600} size="sm" mb={4} id="client-subsidiaries">
            {t('tree.subsidiaries')}
          </Text>
          {children ? (
            children.items.length ? (
              <>
                <List spacing={4} size="sm" aria-labelledby="client-subsidiaries" data-testid="client-subsidiaries">
                  {children.items.map((c) => (
                    <List.Item key={c.id}>
                      <Group gap="xs">
                        <Anchor component={Link} to={`/clients/${c.id}`}>
                          {c.name}
                        </Anchor>
                        <ClientStatusBadge status={c.status} testId="subsidiary-status" />
                      </Group>
                    </List.Item>
                  ))}
                </List>
                {children.total > children.items.length && (
                  <Anchor component={Link} to={`/clients?parent=${view.client_id}`} size="sm">
                    {t('tree.allSubsidiaries', { count: children.total })}
                  </Anchor>
                )}
              </>
            ) : (
              <Text size="sm">{t('tree.noSubsidiaries')}</Text>
            )
          ) : (
            <MissingPart part={miss(missing, 'children')} what={t('tree.subsidiaries')} />
          )}
        </div>

        {subtree ? (
          subtree.clients > 1 && (
            <Text size="sm" data-testid="client-rollup">
              {t('tree.rollup', {
                clients: formatNumber(subtree.clients, lang),
                contracts: formatNumber(subtree.active_contracts, lang),
                premium: subtree.premium_by_currency.length
                  ? new Intl.ListFormat(localeOf(lang), { type: 'conjunction' }).format(
                      subtree.premium_by_currency.map((p) => formatMoney(p.annual_premium, p.currency, lang)),
                    )
                  : formatMoney(0, null, lang),
              })}
            </Text>
          )
        ) : (
          <MissingPart part={miss(missing, 'subtree')} what={t('tree.group')} />
        )}
      </Stack>
    </Section>
  );
}

function More({ shown, total, to, label }: { shown: number; total: number; to: string; label: string }) {
  if (total <= shown) return null;
  return (
    <Anchor component={Link} to={to} size="sm" mt="xs" display="inline-block">
      {label}
    </Anchor>
  );
}

function ContractsPart({ view, missing }: { view: Client360; missing?: Missing }) {
  const { t } = useTranslation('clients');
  const lang = useLang();
  const what = t('sections.contracts');
  const page = view.contracts;
  return (
    <Section
      id="client-contracts"
      title={what}
      action={
        page && page.total > 0 ? (
          <Anchor component={Link} to={`/contracts?client=${view.client_id}`} size="sm">
            {t('detail.allContracts', { count: page.total })}
          </Anchor>
        ) : undefined
      }
    >
      {!page ? (
        <MissingPart part={missing ?? { part: 'contracts', reason: 'error', status: null, detail: '' }} what={what} />
      ) : page.items.length === 0 ? (
        <Text size="sm">{t('detail.noContracts')}</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" aria-labelledby="client-contracts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('contracts:columns.policy')}</Table.Th>
                <Table.Th scope="col">{t('contracts:columns.line')}</Table.Th>
                <Table.Th scope="col">{t('contracts:columns.status')}</Table.Th>
                <Table.Th scope="col">{t('contracts:columns.premium')}</Table.Th>
                <Table.Th scope="col">{t('contracts:columns.period')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((c: Contract) => (
                <Table.Tr key={c.id} data-testid={`contract-${c.id}`}>
                  <Table.Td>
                    <Anchor component={Link} to={`/contracts/${c.id}`}>
                      {c.policy_number ?? t('contracts:noPolicyNumber')}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{c.line_name ?? '—'}</Table.Td>
                  <Table.Td>
                    <ContractStatusBadge status={c.status} />
                  </Table.Td>
                  <Table.Td>{formatMoney(c.premium, c.currency, lang)}</Table.Td>
                  <Table.Td>{t('contracts:period', { start: formatDate(c.start_date, lang), end: formatDate(c.end_date, lang) })}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {page && <More shown={page.items.length} total={page.total} to={`/contracts?client=${view.client_id}`} label={t('detail.allContracts', { count: page.total })} />}
    </Section>
  );
}

function DealsPart({ view, missing }: { view: Client360; missing?: Missing }) {
  const { t } = useTranslation('clients');
  const lang = useLang();
  const what = t('sections.deals');
  const page = view.opportunities;
  return (
    <Section id="client-deals" title={what}>
      {!page ? (
        <MissingPart part={missing ?? { part: 'opportunities', reason: 'error', status: null, detail: '' }} what={what} />
      ) : page.items.length === 0 ? (
        <Text size="sm">{t('detail.noDeals')}</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" aria-labelledby="client-deals">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('deals.title')}</Table.Th>
                <Table.Th scope="col">{t('deals.line')}</Table.Th>
                <Table.Th scope="col">{t('deals.stage')}</Table.Th>
                <Table.Th scope="col">{t('deals.status')}</Table.Th>
                <Table.Th scope="col">{t('deals.sla')}</Table.Th>
                <Table.Th scope="col">{t('deals.premium')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((d: Opportunity) => (
                <Table.Tr key={d.id} data-testid={`deal-${d.id}`}>
                  <Table.Td>
                    <Anchor component={Link} to={`/opportunities/${d.id}`}>
                      {d.title}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{d.line_name}</Table.Td>
                  <Table.Td>{d.stage.name}</Table.Td>
                  <Table.Td>{t(`common:status.${d.status}`)}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <SlaDot state={d.sla_state} showLabel />
                  </Table.Td>
                  <Table.Td>{formatMoney(d.expected_premium, d.currency, lang)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {page && page.total > page.items.length && (
        <Text size="sm" mt="xs">
          {t('detail.moreDeals', { shown: page.items.length, count: page.total })}
        </Text>
      )}
    </Section>
  );
}

function TasksPart({ view, missing }: { view: Client360; missing?: Missing }) {
  const { t } = useTranslation('clients');
  const lang = useLang();
  const { byId: users } = useUserDirectory();
  const what = t('sections.tasks');
  const page = view.open_tasks;
  const people = usePeople((page?.items ?? []).map((task) => task.assignee_id));
  const all = `/tickets?client=${view.client_id}`;
  return (
    <Section
      id="client-tasks"
      title={what}
      action={
        <Anchor component={Link} to={`${all}&status=any`} size="sm">
          {t('detail.allTickets')}
        </Anchor>
      }
    >
      {!page ? (
        <MissingPart part={missing ?? { part: 'open_tasks', reason: 'error', status: null, detail: '' }} what={what} />
      ) : page.items.length === 0 ? (
        <Text size="sm">{t('detail.noTasks')}</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" aria-labelledby="client-tasks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('tickets:columns.title')}</Table.Th>
                <Table.Th scope="col">{t('tickets:columns.sla')}</Table.Th>
                <Table.Th scope="col">{t('tickets:columns.due')}</Table.Th>
                <Table.Th scope="col">{t('tickets:columns.status')}</Table.Th>
                <Table.Th scope="col">{t('tickets:columns.priority')}</Table.Th>
                <Table.Th scope="col">{t('tickets:columns.assignee')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((task: Task) => (
                <Table.Tr key={task.id} data-testid={`task-${task.id}`}>
                  <Table.Td>
                    <Anchor component={Link} to={`/tickets/${task.id}`}>
                      {t('tickets:detail.heading', { number: task.number, title: task.title })}
                    </Anchor>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <SlaDot state={task.sla_state} showLabel />
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(task.due_at, lang)}</Table.Td>
                  <Table.Td>
                    <TaskStatusBadge status={task.status} />
                  </Table.Td>
                  <Table.Td>
                    <PriorityBadge priority={task.priority} />
                  </Table.Td>
                  <Table.Td>{task.assignee_id ? (users.get(task.assignee_id)?.name ?? people.get(task.assignee_id)?.name ?? t('tickets:unknownUser')) : t('tickets:unassigned')}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {page && <More shown={page.items.length} total={page.total} to={all} label={t('detail.allOpenTickets', { count: page.total })} />}
    </Section>
  );
}
