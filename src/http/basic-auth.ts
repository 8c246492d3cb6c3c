// basic_auth_users, as exporter-toolkit checks them (web/handler.go there):
//
// - an unknown user is compared against a dummy hash, so the time to say
//   no does not tell which user names exist (it took 0.8 ms for an unknown
//   user and 58 ms for a known one);
// - results are cached by a hash of user, stored hash and password, the
//   failures too, so a client repeating wrong credentials costs one
//   compare; successes and failures are kept apart, so a flood of wrong
//   passwords cannot push the right ones out;
// - compares run on one worker thread (bcrypt-pool.ts), never on the loop;
//   identical checks in flight share one compare;
// - the scheme is case-insensitive (RFC 9110: "basic" is "Basic").
import { createHash } from 'node:crypto';
import { BcryptBusyError, BcryptPool } from './bcrypt-pool';

export type AuthResult = 'ok' | 'denied' | 'busy';

const MAX_SUCCESSES = 64;
const MAX_FAILURES = 1024;

/** bcrypt's cost, from a hash already checked by the config loader ($2y$10$...). */
function costOf(hash: string): number {
  return Number(/^\$2[aby]?\$(\d\d)\$/.exec(hash)?.[1] ?? 10);
}

/** A bounded cache that forgets its oldest entry first. */
class Recent {
  private readonly keys = new Set<string>();
  constructor(private readonly limit: number) {}

  has(key: string): boolean {
    if (!this.keys.has(key)) return false;
    this.keys.delete(key); // most recently used goes last
    this.keys.add(key);
    return true;
  }

  add(key: string): void {
    this.keys.add(key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value!);
  }
}

export function parseBasicAuthorization(
  header: string | undefined,
): { user: string; password: string } | undefined {
  const match = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class BasicAuth {
  private readonly successes = new Recent(MAX_SUCCESSES);
  private readonly failures = new Recent(MAX_FAILURES);
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly dummyCost: number;

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly pool: BcryptPool,
  ) {
    this.dummyCost = Math.max(...[...users.values()].map(costOf), 4);
    pool.prepare(this.dummyCost);
  }

  async check(header: string | undefined): Promise<AuthResult> {
    const credentials = parseBasicAuthorization(header);
    if (!credentials) return 'denied';
    const { user, password } = credentials;
    const hash = this.users.get(user);
    const key = createHash('sha256')
      .update(`${user}\0${hash ?? ''}\0${password}`)
      .digest('hex');
    if (this.successes.has(key)) return 'ok';
    if (this.failures.has(key)) return 'denied';
    let compare = this.inFlight.get(key);
    if (!compare) {
      compare = this.pool.compare(password, hash ?? null, hash ? costOf(hash) : this.dummyCost);
      this.inFlight.set(key, compare);
      const forget = () => this.inFlight.delete(key);
      compare.then(forget, forget);
    }
    let ok: boolean;
    try {
      ok = (await compare) && hash !== undefined;
    } catch (error) {
      if (error instanceof BcryptBusyError) return 'busy';
      throw error;
    }
    (ok ? this.successes : this.failures).add(key);
    return ok ? 'ok' : 'denied';
  }
}
