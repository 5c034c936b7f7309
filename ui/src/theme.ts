/**
 * Light and dark themes follow the system (prefers-color-scheme) unless the user picks
 * one; the choice is a display preference kept in this window's local storage.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'corridor.theme';

export function loadTheme(): ThemeChoice {
  const v = globalThis.localStorage?.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function applyTheme(choice: ThemeChoice): void {
  if (choice === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  try {
    localStorage.setItem(KEY, choice);
  } catch {
    // Storage may be unavailable; the choice then lasts until the window closes.
  }
}
