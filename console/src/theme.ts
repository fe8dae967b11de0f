import { createTheme, Modal, Notification, Drawer, type CSSVariablesResolver, type MantineThemeOverride } from '@mantine/core';

// Shades chosen for WCAG AA contrast with white text / on white backgrounds.
const base = createTheme({
  primaryColor: 'blue',
  primaryShade: { light: 8, dark: 8 },
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif',
  defaultRadius: 'sm',
  focusRing: 'auto',
  components: {
    Badge: { defaultProps: { variant: 'outline' } },
  },
});

/** The theme in the current language: close buttons of modals, drawers and notifications get a name. */
export function buildTheme(closeLabel: string): MantineThemeOverride {
  const closeButtonProps = { 'aria-label': closeLabel };
  return {
    ...base,
    components: {
      ...base.components,
      Modal: Modal.extend({ defaultProps: { closeButtonProps } }),
      Drawer: Drawer.extend({ defaultProps: { closeButtonProps } }),
      Notification: Notification.extend({ defaultProps: { closeButtonProps } }),
    },
  };
}

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-placeholder': 'var(--mantine-color-gray-7)',
    // light and outline variants (alerts, badges) use shade 6 by default: too pale on their light background
    ...Object.fromEntries(
      ['red', 'orange', 'yellow', 'green', 'teal', 'blue', 'indigo', 'gray'].flatMap((c) => [
        [`--mantine-color-${c}-light-color`, `var(--mantine-color-${c}-9)`],
        [`--mantine-color-${c}-outline`, `var(--mantine-color-${c}-9)`],
      ]),
    ),
  },
  dark: {},
});

/** A green that keeps 4.5:1 with white text and on white (Mantine's green 9 is 4.36:1). */
export const OK_GREEN = '#1b6e2f';
