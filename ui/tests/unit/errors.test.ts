import { describe, expect, test } from 'vitest';
import { isServiceDown, toUiError } from '../../src/errors';

describe('toUiError', () => {
  test('keeps a UiError from the Rust side', () => {
    const e = toUiError({ code: 'secret_required', message: 'Enter your password.', needs: 'password', details: '' });
    expect(e).toEqual({ code: 'secret_required', message: 'Enter your password.', needs: 'password' });
  });

  test('keeps details and recognises the service being down', () => {
    const e = toUiError({ code: 'service_unavailable', message: 'Not running.', details: 'ENOENT' });
    expect(e.details).toBe('ENOENT');
    expect(isServiceDown(e)).toBe(true);
  });

  test('anything else becomes an internal error with the text as details', () => {
    expect(toUiError('boom')).toEqual({ code: 'internal', message: 'Something went wrong in the app.', details: 'boom' });
    expect(toUiError(new Error('bad'))).toMatchObject({ code: 'internal', details: 'bad' });
    expect(toUiError({ code: 'made_up', message: 'x' }).code).toBe('internal');
    expect(toUiError({ code: 'io', message: 'x', needs: 'pin' }).needs).toBeUndefined();
  });
});
