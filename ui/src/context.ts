/** What every view needs: the command wrappers, the state, and the message areas. */
import type { Api } from './api';
import type { Store } from './store';
import type { Notices } from './views/notices';

export interface Context {
  api: Api;
  store: Store;
  notices: Notices;
  /** Re-reads profiles and statuses from the service. */
  refresh: () => Promise<void>;
}
