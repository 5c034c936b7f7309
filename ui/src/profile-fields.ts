/**
 * Flattens a profile into (path, value) rows for the details view and decides which
 * rows are locked: a locked path covers every field under it.
 */

export interface FieldRow {
  path: string;
  value: string;
}

/** Fields a user may change in their own profile or an unlocked managed one. */
export const EDITABLE_FIELDS = ['name', 'auth.eap_identity'] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];

/** Bookkeeping fields not worth showing. */
const HIDDEN = new Set(['format', 'version', 'id', 'managed']);

export function flattenProfile(profile: Record<string, unknown>): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) return;
      for (const [key, inner] of entries) walk(inner, path === '' ? key : `${path}.${key}`);
      return;
    }
    if (HIDDEN.has(path)) return;
    rows.push({ path, value: displayValue(value) });
  };
  walk(profile, '');
  return rows;
}

function displayValue(value: unknown): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '(none)';
    return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null || value === undefined) return '(none)';
  return String(value);
}

export function isLocked(path: string, locked: readonly string[]): boolean {
  return locked.some((l) => path === l || path.startsWith(`${l}.`) || l === '*');
}

/** Reads `a.b` from a profile object. */
export function readPath(profile: Record<string, unknown>, path: string): unknown {
  let cur: unknown = profile;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * A JSON merge patch (RFC 7386) holding only the fields that changed, e.g.
 * `{"auth": {"eap_identity": "bob"}}`; empty when nothing changed.
 */
export function mergePatch(
  before: Record<string, unknown>,
  edits: Partial<Record<EditableField, string>>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(edits)) {
    if (value === undefined) continue;
    const old = readPath(before, path);
    if ((old ?? '') === value) continue;
    const keys = path.split('.');
    let target = patch;
    for (const key of keys.slice(0, -1)) {
      target[key] = (target[key] as Record<string, unknown>) ?? {};
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1] as string] = value === '' ? null : value;
  }
  return patch;
}

/** Field paths in words for the details view. */
const LABELS: Record<string, string> = {
  name: 'Name',
  'gateway.host': 'Server',
  'auth.method': 'Sign-in method',
  'auth.eap_identity': 'User name',
  'routing.mode': 'Traffic sent through the VPN',
  'routing.include': 'Networks reached through the VPN',
  'routing.exclude': 'Networks kept outside the VPN',
  'dns.servers': 'Name servers',
  'dns.search_domains': 'Search domains',
  'proposals.ike': 'Key exchange algorithms',
  'proposals.esp': 'Data encryption algorithms',
};

export function fieldLabel(path: string): string {
  return LABELS[path] ?? path;
}
