// The pipeline's stages: name, place in the order (2-6 can move), SLA target in working hours and
// the department that works them. A save refreshes the stage list and the board (its columns
// show the SLA target), through the same query keys the board uses.
import { useId, useState, type KeyboardEvent } from 'react';
import { Button, NumberInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { formatHours } from '../../lib/format';
import { useLang } from '../../i18n/useLang';
import { useStages } from '../board/queries';
import { adminKeys, invalidateStages, useAllDepartments } from './api';
import { optionsOf, RefusalAlert, useRefusal } from './forms';
import { stageDraft, stageUpdate, validateStage, type StageDraft, MOVABLE } from './stages';
import type { Department, Stage } from './types';
import { toast } from '../notifications/toast';

const FIELDS = ['name', 'position', 'sla_hours', 'department_id'] as const;

function StageRow({ stage, departments }: { stage: Stage; departments: Department[] | undefined }) {
  const { t } = useTranslation('admin');
  const lang = useLang();
  const queryClient = useQueryClient();
  const headerId = useId();
  const [draft, setDraft] = useState<StageDraft | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { refusal, setRefusal, handle } = useRefusal(FIELDS);
  const values = draft ?? stageDraft(stage);
  const body = stageUpdate(stage, values);
  const dirty = Object.keys(body).length > 0;
  const movable = stage.position >= MOVABLE.min && stage.position <= MOVABLE.max;

  const mutation = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/v1/stages/{key}', { params: { path: { key: stage.key } }, body })),
    meta: { handlesErrors: true },
    onSuccess: (saved) => {
      // show what was saved at once (other stages' positions follow with the refetch)
      queryClient.setQueryData<Stage[]>(adminKeys.stages, (list) => list?.map((s) => (s.key === saved.key ? saved : s)));
      setDraft(null);
      setErrors({});
      invalidateStages(queryClient);
      toast(t('stages.saved', { name: saved.name, target: formatHours(saved.sla_hours, lang, 'long') }));
    },
    onError: (e) => handle(e, setErrors),
  });

  const change = (patch: Partial<StageDraft>) => {
    setDraft({ ...values, ...patch });
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !(k in patch))));
  };
  const save = () => {
    setRefusal(null);
    const local = validateStage(values);
    const messages = Object.fromEntries(Object.entries(local).map(([k, key]) => [k, t(`stages.errors.${key}`)]));
    setErrors(messages);
    if (Object.keys(messages).length) return;
    if (!dirty) {
      toast(t('stages.unchanged', { name: stage.name }), 'gray');
      return;
    }
    mutation.mutate();
  };

  const onEnter = (e: KeyboardEvent) => {
    if (e.key === 'Enter') save();
  };

  return (
    <>
      <Table.Tr data-testid={`stage-${stage.key}`} data-dirty={dirty || undefined}>
        <Table.Th scope="row" id={headerId} fw={500}>
          <Text size="sm" fw={600}>
            {stage.name}
          </Text>
          <Text size="xs" c="dimmed">
            {t('stages.current', { position: stage.position, target: formatHours(stage.sla_hours, lang) })}
          </Text>
        </Table.Th>
        <Table.Td w={110}>
          <NumberInput
            aria-label={t('stages.position')}
            value={values.position}
            onChange={(v) => change({ position: v })}
            min={movable ? MOVABLE.min : stage.position}
            max={movable ? MOVABLE.max : stage.position}
            allowDecimal={false}
            disabled={!movable}
            title={movable ? undefined : t('stages.fixedPosition')}
            error={errors.position}
          />
        </Table.Td>
        <Table.Td>
          <TextInput aria-label={t('stages.name')} value={values.name} maxLength={100} onChange={(e) => change({ name: e.currentTarget.value })} onKeyDown={onEnter} error={errors.name} />
        </Table.Td>
        <Table.Td w={170}>
          <NumberInput
            aria-label={t('stages.sla')}
            value={values.sla_hours}
            onChange={(v) => change({ sla_hours: v })}
            min={0}
            max={10000}
            decimalScale={2}
            step={1}
            error={errors.sla_hours}
            onKeyDown={onEnter}
            data-testid="stage-sla"
          />
        </Table.Td>
        <Table.Td>
          <Select
            aria-label={t('stages.department')}
            placeholder={t('stages.noDepartment')}
            clearable
            searchable
            data={optionsOf(departments)}
            value={values.department_id}
            onChange={(v) => change({ department_id: v })}
            nothingFoundMessage={t('nothingFound')}
            error={errors.department_id}
          />
        </Table.Td>
        <Table.Td>
          <Button size="sm" onClick={save} variant={dirty ? 'filled' : 'default'} loading={mutation.isPending} aria-describedby={headerId}>
            {t('common:actions.save')}
          </Button>
        </Table.Td>
      </Table.Tr>
      {refusal && (
        <Table.Tr>
          <Table.Td colSpan={6}>
            <RefusalAlert refusal={refusal} />
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

export default function StagesSection() {
  const { t } = useTranslation('admin');
  const stages = useStages();
  const departments = useAllDepartments();
  return (
    <Stack gap="md">
      <Title order={2} size="h3">
        {t('sections.stages')}
      </Title>
      <Text size="sm">{t('stages.intro')}</Text>
      {stages.isPending ? (
        <Loading />
      ) : stages.isError ? (
        <ProblemAlert error={stages.error} />
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table data-testid="stages-table" verticalSpacing="xs">
            <Table.Caption>{t('stages.caption')}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('stages.stage')}</Table.Th>
                <Table.Th scope="col">{t('stages.position')}</Table.Th>
                <Table.Th scope="col">{t('stages.name')}</Table.Th>
                <Table.Th scope="col">{t('stages.sla')}</Table.Th>
                <Table.Th scope="col">{t('stages.department')}</Table.Th>
                <Table.Th scope="col">{t('actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {stages.data.map((s) => (
                <StageRow key={s.key} stage={s} departments={departments.data} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
