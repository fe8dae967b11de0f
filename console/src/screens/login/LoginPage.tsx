import { useState } from 'react';
import { Alert, Box, Button, Center, Group, Paper, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../../auth/context';
import type { EndReason } from '../../auth/session';
import { PageHeading } from '../../components/PageHeading';
import { LanguageSwitch } from '../../layout/LanguageSwitch';
import { errorMessage, isApiError, problemFieldErrors, unmatchedFieldErrors, type Message } from '../../lib/problem';

interface LoginState {
  from?: string;
  reason?: EndReason | null;
}

const FIELDS = ['email', 'password'] as const;
const ALIASES = { username: 'email' };

function safeTarget(from: unknown): string {
  return typeof from === 'string' && from.startsWith('/') && !from.startsWith('//') && !from.startsWith('/login') ? from : '/';
}

export default function LoginPage() {
  const { t } = useTranslation('login');
  const { state, signIn } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const locState = (location.state ?? {}) as LoginState;
  const target = safeTarget(locState.from);
  const [formError, setFormError] = useState<{ message: Message; extra: string[] } | null>(null);
  const [submitting, setSubmitting] = useState(false);

  const form = useForm({
    mode: 'controlled',
    initialValues: { email: '', password: '' },
    validate: {
      email: (v) => (v.trim() ? null : t('emailRequired')),
      password: (v) => (v ? null : t('passwordRequired')),
    },
  });

  if (state.status === 'authenticated') return <Navigate to={target} replace />;

  const submit = form.onSubmit(async (values) => {
    setFormError(null);
    setSubmitting(true);
    try {
      await signIn(values.email.trim(), values.password);
      navigate(target, { replace: true });
    } catch (e) {
      if (isApiError(e) && e.status === 401) {
        setFormError({ message: { key: 'login:wrongCredentials' }, extra: [] });
        form.setFieldValue('password', '');
      } else if (isApiError(e) && e.status === 422) {
        form.setErrors(problemFieldErrors(e.problem, ALIASES, FIELDS));
        const extra = unmatchedFieldErrors(e.problem, FIELDS, ALIASES);
        if (extra.length) setFormError({ message: errorMessage(e), extra });
      } else {
        setFormError({ message: errorMessage(e), extra: [] });
      }
    } finally {
      setSubmitting(false);
    }
  });

  const title = t('title');
  return (
    <Box component="main" mih="100vh" bg="gray.0">
      <Group justify="flex-end" p="md">
        <LanguageSwitch />
      </Group>
      <Center px="md">
        <Paper withBorder shadow="sm" p="xl" w={400} maw="100%">
          <Stack gap="md">
            <PageHeading title={title}>{title}</PageHeading>
            {locState.reason === 'expired' && (
              <Alert color="blue" variant="light" role="status">
                {t('sessionEnded')}
              </Alert>
            )}
            {locState.reason === 'logout' && (
              <Text size="sm" role="status">
                {t('signedOut')}
              </Text>
            )}
            {formError && (
              <Alert color="red" variant="light" role="alert" data-testid="login-error">
                {t(formError.message.key, { ns: 'common', ...formError.message.values })}
                {formError.extra.map((x) => (
                  <Text key={x} size="sm">
                    {x}
                  </Text>
                ))}
              </Alert>
            )}
            <form onSubmit={(e) => void submit(e)} noValidate aria-label={title}>
              <Stack gap="sm">
                <TextInput
                  label={t('email')}
                  type="email"
                  autoComplete="username"
                  required
                  {...form.getInputProps('email')}
                />
                <PasswordInput label={t('password')} autoComplete="current-password" required {...form.getInputProps('password')} />
                <Button type="submit" loading={submitting} fullWidth mt="sm">
                  {t('submit')}
                </Button>
              </Stack>
            </form>
          </Stack>
        </Paper>
      </Center>
    </Box>
  );
}
