// A short confirmation in the corner (Mantine notifications), with a labelled close button.
import { notifications } from '@mantine/notifications';
import i18n from '../../i18n';

export function toast(message: string, color: 'green' | 'gray' | 'red' = 'green'): void {
  notifications.show({ color, message, closeButtonProps: { 'aria-label': i18n.t('common:actions.close') } });
}
