// A searchable client field: types ask the server's fuzzy search, the chosen client keeps its name.
import { useMemo, useState } from 'react';
import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { useClient, useClients } from './queries';

function optionLabel(t: TFunction<'clients'>, c: { name: string; tax_id: string | null }): string {
  return c.tax_id ? t('picker.option', { name: c.name, taxId: c.tax_id }) : c.name;
}

export function ClientPicker({
  label,
  value,
  onChange,
  error,
  description,
  excludeId,
  disabled,
}: {
  label: string;
  value: string | null;
  onChange: (id: string | null) => void;
  error?: string | null;
  description?: string;
  excludeId?: string;
  disabled?: boolean;
}) {
  const { t } = useTranslation('clients');
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const selected = useClient(value);
  const selectedLabel = selected.data ? optionLabel(t, selected.data) : undefined;
  // once a client is chosen the box shows its name: don't search for that
  const q = debounced && debounced !== selectedLabel ? debounced : undefined;
  const results = useClients(q ? { q, limit: 20 } : { limit: 20, sort: 'name' }, !disabled);
  const data = useMemo(() => {
    const items = [...(selected.data ? [selected.data] : []), ...(results.data?.items ?? [])];
    const seen = new Set<string>();
    return items
      .filter((c) => c.id !== excludeId && !seen.has(c.id) && seen.add(c.id))
      .map((c) => ({ value: c.id, label: optionLabel(t, c) }));
  }, [selected.data, results.data, excludeId, t]);
  return (
    <Select
      label={label}
      description={description}
      placeholder={t('picker.placeholder')}
      searchable
      clearable
      data={data}
      value={value}
      onChange={onChange}
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options }) => options}
      nothingFoundMessage={results.isFetching ? t('common:loading') : t('picker.none')}
      error={error}
      disabled={disabled}
      comboboxProps={{ withinPortal: true }}
    />
  );
}
