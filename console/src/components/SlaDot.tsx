import { memo } from 'react';
import { Group, Text, VisuallyHidden } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { SlaState } from '../api/types';
import { slaIndicator } from '../lib/sla';

/** The SLA dot: colour plus a text label (visible or for screen readers only), never colour alone. */
export const SlaDot = memo(function SlaDot({ state, showLabel = false }: { state: SlaState | null | undefined; showLabel?: boolean }) {
  const { t } = useTranslation();
  const ind = slaIndicator(state);
  const label = t(ind.labelKey);
  return (
    <Group gap={6} wrap="nowrap" component="span" data-sla={ind.tone}>
      <span
        aria-hidden="true"
        style={{
          display: 'inline-block',
          width: 10,
          height: 10,
          borderRadius: '50%',
          background: ind.color,
          flex: 'none',
          boxShadow: ind.tone === 'amber' ? 'inset 0 0 0 1px #a35400' : undefined,
        }}
      />
      {showLabel ? (
        <Text component="span" size="sm">
          {label}
        </Text>
      ) : (
        <VisuallyHidden>{label}</VisuallyHidden>
      )}
    </Group>
  );
});
