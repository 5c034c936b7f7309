/**
 * Turns whatever a failed command threw into a {@link UiError}, so every view can
 * show one plain sentence and keep the technical text for the "Details" expander.
 */
import type { ErrorCode, UiError } from './types';

const CODES: readonly ErrorCode[] = [
  'service_unavailable',
  'secret_required',
  'not_found',
  'conflict',
  'invalid_profile',
  'unauthorized',
  'bad_request',
  'keychain',
  'io',
  'internal',
];

function isCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (CODES as readonly string[]).includes(value);
}

/** The app's Rust side rejects with a UiError object; anything else is an internal error. */
export function toUiError(error: unknown): UiError {
  if (error !== null && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    if (typeof e.message === 'string' && isCode(e.code)) {
      const out: UiError = { code: e.code, message: e.message };
      if (typeof e.details === 'string' && e.details !== '') out.details = e.details;
      if (e.needs === 'password' || e.needs === 'key_passphrase') out.needs = e.needs;
      return out;
    }
    if (error instanceof Error) {
      return { code: 'internal', message: 'Something went wrong in the app.', details: error.message };
    }
  }
  const text = typeof error === 'string' ? error : JSON.stringify(error);
  return { code: 'internal', message: 'Something went wrong in the app.', details: text };
}

/** True when the failure means the background service cannot be reached. */
export function isServiceDown(error: UiError): boolean {
  return error.code === 'service_unavailable';
}
