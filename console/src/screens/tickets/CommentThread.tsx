// A ticket's comment thread, oldest first, and adding to it.
import { useState } from 'react';
import { Button, Group, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { usePeople } from '../../api/people';
import type { Task } from '../../api/types';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useLang } from '../../i18n/useLang';
import { formatDateTime } from '../../lib/format';
import { addComment, COMMENTS_PAGE, taskKeys, useComments } from './queries';
import { FormProblemAlert, useFormProblem } from '../../components/ui';
import { ListPager } from '../../components/ListPager';

export function CommentThread({ task, authorName }: { task: Task; authorName: (id: string) => string }) {
  const { t } = useTranslation('tickets');
  const lang = useLang();
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const comments = useComments(task.id, page);
  // authors from other departments (not in the caller's directory)
  const authors = usePeople((comments.data?.items ?? []).map((c) => c.author_id));
  const { problem, setProblem, handle } = useFormProblem(['body']);
  const form = useForm({
    mode: 'controlled',
    initialValues: { body: '' },
    validate: { body: (v) => (v.trim() ? null : t('comments.bodyRequired')) },
  });
  const mutation = useMutation({
    mutationFn: (body: string) => addComment(task.id, body),
    meta: { handlesErrors: true },
    onSuccess: () => {
      form.reset();
      // the new comment is the last one: show the last page
      const total = (comments.data?.total ?? 0) + 1;
      setPage(Math.max(1, Math.ceil(total / COMMENTS_PAGE)));
      void queryClient.invalidateQueries({ queryKey: ['tasks', 'comments', task.id] });
      void queryClient.invalidateQueries({ queryKey: taskKeys.detail(task.id) });
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setProblem(null);
    mutation.mutate(v.body.trim());
  });

  const count = comments.data?.total ?? task.comments_count;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="ticket-comments">
      <Title order={2} size="h4" id="ticket-comments" mb="sm">
        {t('comments.title', { count })}
      </Title>
      {comments.isPending ? (
        <Loading />
      ) : comments.isError ? (
        <ProblemAlert error={comments.error} />
      ) : comments.data.items.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('comments.none')}
        </Text>
      ) : (
        <Stack gap="sm" component="ol" p={0} m={0} style={{ listStyle: 'none' }} data-testid="comments">
          {comments.data.items.map((c) => (
            <li key={c.id} data-testid={`comment-${c.id}`}>
              <Paper bg="gray.0" p="sm" radius="sm">
                <Group gap="xs" mb={4}>
                  <Text size="sm" fw={600}>
                    {authors.get(c.author_id)?.name ?? authorName(c.author_id)}
                  </Text>
                  <Text size="xs" c="dimmed" component="time" dateTime={c.created_at}>
                    {formatDateTime(c.created_at, lang)}
                  </Text>
                </Group>
                <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
                  {c.body}
                </Text>
              </Paper>
            </li>
          ))}
        </Stack>
      )}
      {comments.data && comments.data.total > COMMENTS_PAGE && (
        <ListPager total={comments.data.total} page={page} pageSize={COMMENTS_PAGE} onChange={setPage} label={t('comments.paging')} />
      )}
      <form onSubmit={(e) => void submit(e)} noValidate aria-label={t('comments.add')}>
        <Stack gap="xs" mt="md">
          <FormProblemAlert problem={problem} />
          <Textarea label={t('comments.new')} autosize minRows={3} maxLength={5000} {...form.getInputProps('body')} />
          <Group justify="flex-end">
            <Button type="submit" loading={mutation.isPending}>
              {t('comments.add')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
