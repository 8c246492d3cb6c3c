// What every request passes before its route, from the web config: the
// configured response headers, rate_limit (429) and basic auth (401, or 503
// while too many password checks wait). The settings are swapped whole on
// reload: a request sees the old ones or the new ones, never a mixture.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BasicAuth } from './basic-auth';
import type { BcryptPool } from './bcrypt-pool';
import { TokenBucket } from './limits';
import type { WebConfig } from './web-config';

interface AccessSettings {
  headers: [string, string][];
  bucket?: TokenBucket;
  auth?: BasicAuth;
}

const TEXT = 'text/plain; charset=utf-8';

export class Access {
  private settings: AccessSettings = { headers: [] };

  constructor(
    private readonly pool: BcryptPool,
    config: WebConfig,
  ) {
    this.apply(config);
  }

  /** Takes the new file's headers, rate limit (a fresh bucket) and users (fresh caches). */
  apply(config: WebConfig): void {
    const users = config.users;
    this.settings = {
      headers: Object.entries(config.headers ?? {}),
      ...(config.rateLimit ? { bucket: new TokenBucket(config.rateLimit) } : {}),
      ...(users && users.size > 0 ? { auth: new BasicAuth(users, this.pool) } : {}),
    };
  }

  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      const { headers, bucket, auth } = this.settings;
      for (const [name, value] of headers) reply.header(name, value);
      if (bucket && !bucket.allow()) {
        return reply.code(429).type(TEXT).send('Too Many Requests\n');
      }
      if (!auth) return;
      const result = await auth.check(request.headers.authorization);
      if (result === 'ok') return;
      if (result === 'busy') {
        return reply
          .code(503)
          .header('retry-after', '1')
          .type(TEXT)
          .send('too many password checks waiting, retry later\n');
      }
      return deny(reply);
    });
  }
}

function deny(reply: FastifyReply) {
  return reply
    .code(401)
    .header('www-authenticate', 'Basic realm="sockdiag-exporter"')
    .type(TEXT)
    .send('Unauthorized\n');
}
