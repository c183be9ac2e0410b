import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { ChartRenderer } from './helm-render.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const CHART = 'deploy/helm/emporium';
/** Scaled-out settings of DESIGN.md that the config may not read yet; nothing else is allowed. */
const PLANNED_SETTINGS = ['REDIS_URL', 'AMQP_URL'];

/** Compose's `${NAME:-default}` with nothing set in the environment: the default. */
function interpolateDefaults(value: string): string {
  return value.replace(
    /\$\{[A-Z_]+(?::?-([^}]*))?\}/g,
    (_match, fallback: string | undefined) => fallback ?? '',
  );
}

/** The value at a dotted path of a parsed document, or undefined when any step is missing. */
function lookup(document: unknown, dotted: string): unknown {
  let node = document;
  for (const key of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Every setting name src/config.ts reads from the environment. */
function configSettings(): Set<string> {
  const source = read('src/config.ts');
  const names = [
    ...source.matchAll(/env\.([A-Z][A-Z0-9_]+)/g),
    ...source.matchAll(/env, '([A-Z][A-Z0-9_]+)'/g),
  ].map((match) => match[1]);
  return new Set(names);
}

describe('Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  const runtime = instructions.slice(instructions.findLastIndex((line) => line.startsWith('FROM ')));

  it('builds in stages on Node 24 and installs production dependencies only', () => {
    expect(instructions.filter((line) => line.startsWith('FROM ')).length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-[a-z-]*slim$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(runtime.some((line) => /^COPY --from=deps .*node_modules/.test(line))).toBe(true);
  });

  it('runs `node src/main.ts serve` (with the V8 flags npm start uses) as a non-root user, with health check, stop signal, port and volume', () => {
    const user = runtime.find((line) => line.startsWith('USER '));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)\b/);
    expect(runtime).toContain(
      'ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "src/main.ts"]',
    );
    expect(runtime).toContain('CMD ["serve"]');
    expect(runtime.find((line) => line.startsWith('HEALTHCHECK '))).toMatch(/\/livez/);
    expect(runtime).toContain('STOPSIGNAL SIGTERM');
    expect(runtime).toContain('EXPOSE 3000');
    const dataDir = dockerfile.match(/DATA_DIR=(\S+)/)?.[1];
    expect(runtime).toContain(`VOLUME ["${dataDir}"]`);
    // Listening on the container's interfaces; the default (127.0.0.1) is unreachable from outside.
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', '.env']));
    const sources = runtime
      .concat(instructions)
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of new Set(sources)) {
      expect(existsSync(path.join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});

describe('compose file', () => {
  const compose = parse(read('deploy/compose.yaml'), { merge: true });
  const services = compose.services as Record<string, any>;

  it('has the data services, a migration job, two API replicas, a worker, the payment sandbox and nginx', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'redis',
        'rabbitmq',
        'migrate',
        'api',
        'worker',
        'payments',
        'nginx',
      ]),
    );
    expect(services.migrate.command).toEqual(['migrate']);
    expect(services.migrate.restart).toBe('no');
    expect(services.api.command).toEqual(['serve', '--role', 'api']);
    expect(services.api.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(services.worker.command).toEqual(['serve', '--role', 'worker']);
    expect(services.payments.command).toEqual(['psp-sandbox', '--port', '4000', '--host', '0.0.0.0']);
    expect(services.api.environment.PAYMENTS_URL).toBe('http://payments:4000');
    // Compose runs production images: the provider must be named, or the server exits 2.
    expect(services.api.environment.PAYMENTS_PROVIDER).toBe('sandbox');
  });

  it('gives every long-running service a health check and waits on real conditions', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.restart !== 'no') expect(service.healthcheck?.test, name).toBeDefined();
      for (const [target, { condition }] of Object.entries<{ condition: string }>(service.depends_on ?? {})) {
        expect(services[target], `${name} depends on ${target}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[target].healthcheck, target).toBeDefined();
        if (condition === 'service_completed_successfully') expect(services[target].restart).toBe('no');
      }
    }
    for (const role of ['api', 'worker']) {
      expect(services[role].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        rabbitmq: { condition: 'service_healthy' },
      });
    }
    expect(services.api.healthcheck.test.join(' ')).toMatch(/\/readyz/);
    expect(services.nginx.depends_on).toMatchObject({ api: { condition: 'service_healthy' } });
  });

  it('mounts the tested nginx config and gives the app time to drain', () => {
    const mount = services.nginx.volumes.find((volume: string) => volume.includes('conf.d'));
    expect(existsSync(path.join(ROOT, 'deploy', mount.split(':')[0]))).toBe(true);
    const environment = services.api.environment;
    expect(Number.parseInt(services.api.stop_grace_period, 10) * 1000).toBeGreaterThan(
      Number(environment.SHUTDOWN_TIMEOUT_MS),
    );
  });

  it('passes an environment the app accepts, with settings it knows', () => {
    const known = configSettings();
    for (const role of ['api', 'worker', 'migrate', 'payments']) {
      const environment = Object.fromEntries(
        Object.entries<string>(services[role].environment).map(([key, value]) => [
          key,
          interpolateDefaults(value),
        ]),
      );
      for (const key of Object.keys(environment)) {
        expect(known.has(key) || PLANNED_SETTINGS.includes(key), `${role}: ${key}`).toBe(true);
      }
      const config = loadConfig(environment);
      expect(config.host).toBe('0.0.0.0');
      expect(new URL(config.databaseUrl!).hostname).toBe('postgres');
    }
  });
});

describe('nginx config', () => {
  const conf = read('deploy/nginx/emporium.conf');

  it('balances over pooled connections with passive health checks', () => {
    const upstream = conf.match(/upstream emporium_api \{([^}]*)\}/)![1];
    expect(upstream).toMatch(/^\s*least_conn;/m);
    expect(upstream).toMatch(/^\s*keepalive \d+;/m);
    expect(upstream).toMatch(/server api:3000 .*max_fails=\d+ fail_timeout=\d+s;/);
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    expect(conf).toMatch(/proxy_set_header Connection "";/);
  });

  it('retries only what is safe to resend, and passes request id and client address on', () => {
    const retry = conf.match(/^\s*proxy_next_upstream ([^;]*);/m)![1].split(/\s+/);
    expect(retry).toEqual(expect.arrayContaining(['error', 'timeout']));
    expect(retry).not.toContain('non_idempotent');
    expect(conf).toMatch(/map \$http_x_request_id \$emporium_request_id \{[^}]*""\s+\$request_id;/);
    expect(conf).toMatch(/proxy_set_header X-Request-Id \$emporium_request_id;/);
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  it('limits bodies, compresses JSON and upgrades the WebSocket stream', () => {
    expect(conf).toMatch(/client_max_body_size 1m;/);
    expect(conf).toMatch(/gzip_types [^;]*application\/json/);
    const stream = conf.match(/location = \/v1\/stream \{([^}]*)\}/)![1];
    expect(stream).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(stream).toMatch(/proxy_set_header Connection \$emporium_connection_upgrade;/);
    // A location with its own proxy_set_header inherits none: the common ones must be repeated.
    expect(stream).toMatch(/proxy_set_header X-Request-Id/);
    expect(stream).toMatch(/proxy_set_header X-Forwarded-For/);
  });
});

describe('Helm chart', () => {
  const chart = parse(read(`${CHART}/Chart.yaml`));
  const values = parse(read(`${CHART}/values.yaml`));
  const templateDir = path.join(ROOT, CHART, 'templates');
  const templates = Object.fromEntries(
    readdirSync(templateDir).map((file) => [file, readFileSync(path.join(templateDir, file), 'utf8')]),
  );
  const all = Object.values(templates).join('\n');

  it('validates its values against values.schema.json, which helm also enforces on install', () => {
    const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(
      JSON.parse(read(`${CHART}/values.schema.json`)),
    );
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    const broken = (change: (copy: any) => void) => {
      const copy = structuredClone(values);
      change(copy);
      return validate(copy);
    };
    expect(broken((copy) => (copy.api.replicas = 'two'))).toBe(false);
    expect(broken((copy) => (copy.image.tag = 'latest'))).toBe(false);
    expect(broken((copy) => (copy.config.LOG_LEVEL = 'loud'))).toBe(false);
    expect(broken((copy) => (copy.config.PORT = 3000))).toBe(false);
    expect(broken((copy) => (copy.ingress.hosts[0].paths[0].pathType = 'Glob'))).toBe(false);
  });

  it('is a v2 chart with a version and an app version', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'emporium', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(JSON.parse(read('package.json')).version);
  });

  it('refers only to values that exist and to helpers that are defined', () => {
    const references = new Set([...all.matchAll(/\$?\.Values\.([A-Za-z0-9_.]+)/g)].map((match) => match[1]));
    expect(references.size).toBeGreaterThan(20);
    for (const reference of references) expect(lookup(values, reference), reference).not.toBeUndefined();
    const defined = new Set([...templates['_helpers.tpl'].matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
    for (const [, name] of all.matchAll(/include "([^"]+)"/g)) expect(defined, name).toContain(name);
  });

  it('has every object a production release needs', () => {
    const kinds = [...all.matchAll(/^kind: (\w+)$/gm)].map((match) => match[1]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Deployment',
        'Job',
        'Service',
        'Ingress',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'ConfigMap',
        'Secret',
        'NetworkPolicy',
        'ServiceAccount',
      ]),
    );
    expect(kinds.filter((kind) => kind === 'Deployment')).toHaveLength(3);
  });

  it('runs as non-root on a read-only root filesystem', () => {
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(values.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    for (const file of ['api-deployment.yaml', 'worker-deployment.yaml', 'migrate-job.yaml']) {
      expect(templates[file], file).toMatch(/toYaml \.Values\.securityContext/);
      expect(templates[file], file).toMatch(/mountPath: \/tmp/);
    }
  });

  it('migrates in a pre-install/pre-upgrade hook that finds its configuration already there', () => {
    const job = templates['migrate-job.yaml'];
    expect(job).toMatch(/helm\.sh\/hook: pre-install,pre-upgrade/);
    expect(job).toMatch(/args: \["migrate"\]/);
    const jobWeight = Number(job.match(/hook-weight: "(-?\d+)"/)![1]);
    for (const file of ['configmap.yaml', 'secret.yaml']) {
      expect(templates[file], file).toMatch(/helm\.sh\/hook: pre-install,pre-upgrade/);
      expect(Number(templates[file].match(/hook-weight: "(-?\d+)"/)![1]), file).toBeLessThan(jobWeight);
    }
  });

  it('configures the app with settings it accepts', () => {
    const known = configSettings();
    for (const key of [...Object.keys(values.config), ...Object.keys(values.secret.values)]) {
      expect(known.has(key) || PLANNED_SETTINGS.includes(key), key).toBe(true);
    }
    const config = loadConfig({
      ...values.config,
      HOST: '0.0.0.0',
      PORT: '3000',
      DATABASE_URL: 'postgres://emporium:secret@db:5432/emporium',
    });
    expect(config.port).toBe(3000);
  });
});

describe('Helm chart, rendered', () => {
  const renderer = new ChartRenderer(path.join(ROOT, CHART));
  const DATABASE_URL = 'postgres://emporium:secret@db:5432/emporium';
  const defaults = parse(read(`${CHART}/values.yaml`));

  /** Every object of a release with these values, parsed as YAML like the API server would. */
  function objects(values: Record<string, unknown>): any[] {
    return Object.entries(renderer.render(values)).flatMap(([file, text]) =>
      parseAllDocuments(text)
        .map((document) => {
          expect(document.errors, file).toEqual([]);
          return document.toJS();
        })
        .filter(Boolean),
    );
  }
  const release = objects({ secret: { values: { DATABASE_URL } }, ingress: { enabled: true } });
  const find = (kind: string, suffix = '') =>
    release.find((object) => object.kind === kind && object.metadata.name.endsWith(suffix));
  const api = find('Deployment', '-api');
  const worker = find('Deployment', '-worker');
  const pod = (deployment: any) => deployment.spec.template;
  const container = (deployment: any) => pod(deployment).spec.containers[0];
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([key, value]) => labels[key] === value);

  it('renders valid objects, each with a kind, an API version and a name', () => {
    expect(release.length).toBeGreaterThanOrEqual(11);
    for (const object of release) {
      expect(object.apiVersion, JSON.stringify(object).slice(0, 80)).toBeTruthy();
      expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(object.metadata.labels['app.kubernetes.io/instance']).toBe('shop');
    }
  });

  /** The kubernetes-models class for an object's apiVersion and kind, whose validate() checks it against the API's schema. */
  async function modelOf(object: { apiVersion: string; kind: string }) {
    const models = await import(`kubernetes-models/${object.apiVersion}`);
    const Model = models[object.kind];
    expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
    return Model as new (
      value: unknown,
    ) => { validate(): void };
  }

  it('renders objects the Kubernetes API schemas accept, with the options on and off', async () => {
    const fixedSize = objects({
      secret: { values: { DATABASE_URL } },
      api: { autoscaling: { enabled: false }, podDisruptionBudget: { enabled: false } },
      networkPolicy: { enabled: false },
    });
    const kinds = new Set<string>();
    for (const object of [...release, ...fixedSize]) {
      const Model = await modelOf(object);
      expect(() => new Model(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
      kinds.add(`${object.apiVersion} ${object.kind}`);
    }
    expect([...kinds]).toEqual(
      expect.arrayContaining([
        'apps/v1 Deployment',
        'v1 Service',
        'batch/v1 Job',
        'networking.k8s.io/v1 Ingress',
      ]),
    );
    // The schemas really judge: a replica count given as text is refused.
    const broken = structuredClone(api);
    broken.spec.replicas = 'two';
    const Deployment = await modelOf(api);
    expect(() => new Deployment(broken).validate()).toThrow(/replicas/);
  });

  it('wires selectors, the Service, the Ingress, the HPA and the PDB to the API pods only', () => {
    for (const deployment of [api, worker]) {
      expect(selects(deployment.spec.selector.matchLabels, pod(deployment).metadata.labels)).toBe(true);
    }
    const service = release.find(
      (object) => object.kind === 'Service' && object.metadata.name === 'shop-emporium',
    );
    expect(selects(service.spec.selector, pod(api).metadata.labels)).toBe(true);
    expect(selects(service.spec.selector, pod(worker).metadata.labels)).toBe(false);
    expect(container(api).ports.map((port: any) => port.name)).toContain(service.spec.ports[0].targetPort);
    const backend = find('Ingress').spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: service.metadata.name, port: { name: service.spec.ports[0].name } });
    expect(find('HorizontalPodAutoscaler').spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: api.metadata.name,
    });
    const budget = find('PodDisruptionBudget').spec.selector.matchLabels;
    expect(selects(budget, pod(api).metadata.labels)).toBe(true);
    expect(selects(budget, pod(worker).metadata.labels)).toBe(false);
    const policies = release.filter((object) => object.kind === 'NetworkPolicy');
    for (const deployment of [api, worker, find('Deployment', '-payments')]) {
      const policy = policies.find((each) =>
        selects(each.spec.podSelector.matchLabels, pod(deployment).metadata.labels),
      );
      expect(policy, deployment.metadata.name).toBeDefined();
    }
  });

  it('rolls the API without losing capacity, probes it, and drains it before it stops', () => {
    expect(api.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // The HPA owns the replica count; a fixed one would fight it on every upgrade.
    expect(api.spec.replicas).toBeUndefined();
    expect(container(api).args).toEqual(['serve', '--role', 'api']);
    expect(container(worker).args).toEqual(['serve', '--role', 'worker']);
    for (const deployment of [api, worker]) {
      const { startupProbe, readinessProbe, livenessProbe } = container(deployment);
      expect(startupProbe.httpGet.path).toBe('/livez');
      expect(readinessProbe.httpGet.path).toBe('/readyz');
      expect(livenessProbe.httpGet.path).toBe('/livez');
    }
    const preStopSeconds = Number(container(api).lifecycle.preStop.exec.command[1]);
    expect(container(api).lifecycle.preStop.exec.command[0]).toBe('sleep');
    const drainSeconds = Number(defaults.config.SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(pod(api).spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + drainSeconds);
    expect(pod(worker).spec.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);
    const fixed = objects({ secret: { values: { DATABASE_URL } }, api: { autoscaling: { enabled: false } } });
    expect(fixed.find((object) => object.kind === 'HorizontalPodAutoscaler')).toBeUndefined();
    expect(fixed.find((object) => object.metadata.name.endsWith('-api')).spec.replicas).toBe(2);
  });

  it('runs every pod non-root on a read-only root filesystem with a writable /tmp', () => {
    const job = find('Job');
    for (const workload of [api, worker, job]) {
      const spec = workload.spec.template.spec;
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.containers[0].securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      const tmp = spec.containers[0].volumeMounts.find((mount: any) => mount.mountPath === '/tmp');
      expect(spec.volumes.find((volume: any) => volume.name === tmp.name).emptyDir).toEqual({});
    }
  });

  it('configures every pod from the ConfigMap and the Secret, which exist before the migrate hook', () => {
    const configMap = find('ConfigMap');
    const secret = find('Secret');
    expect(secret.stringData.DATABASE_URL).toBe(DATABASE_URL);
    const job = find('Job');
    for (const workload of [api, worker, job]) {
      expect(workload.spec.template.spec.containers[0].envFrom).toEqual([
        { configMapRef: { name: configMap.metadata.name } },
        { secretRef: { name: secret.metadata.name } },
      ]);
    }
    expect(job.spec.template.spec.containers[0].args).toEqual(['migrate']);
    const hook = (object: any) => object.metadata.annotations?.['helm.sh/hook'];
    const weight = (object: any) => Number(object.metadata.annotations['helm.sh/hook-weight']);
    for (const object of [job, configMap, secret]) expect(hook(object)).toBe('pre-install,pre-upgrade');
    expect(weight(configMap)).toBeLessThan(weight(job));
    expect(weight(secret)).toBeLessThan(weight(job));
    expect(loadConfig({ ...configMap.data, ...secret.stringData }).host).toBe('0.0.0.0');
  });

  it('runs one shared payment sandbox that API and worker pods reach through its Service', () => {
    const sandbox = find('Deployment', '-payments');
    const service = find('Service', '-payments');
    expect(sandbox.spec.replicas).toBe(1);
    expect(container(sandbox).args).toEqual(['psp-sandbox', '--port', '4000', '--host', '0.0.0.0']);
    expect(selects(service.spec.selector, pod(sandbox).metadata.labels)).toBe(true);
    expect(selects(service.spec.selector, pod(api).metadata.labels)).toBe(false);
    const port = service.spec.ports[0].port;
    expect(find('ConfigMap').data.PAYMENTS_URL).toBe(`http://${service.metadata.name}:${port}`);
    expect(find('ConfigMap').data.PAYMENTS_PROVIDER).toBe('sandbox');
    // Release pods may call it: the policy admits pods carrying the release's common labels.
    const policy = find('NetworkPolicy', '-payments');
    const admitted = policy.spec.ingress[0].from[0].podSelector.matchLabels;
    for (const deployment of [api, worker])
      expect(selects(admitted, pod(deployment).metadata.labels)).toBe(true);

    const real = objects({
      secret: { values: { DATABASE_URL } },
      config: { PAYMENTS_URL: 'https://psp.example.com' },
      paymentsSandbox: { enabled: false },
    });
    expect(real.find((object) => object.metadata.name.endsWith('-payments'))).toBeUndefined();
    expect(real.find((object) => object.kind === 'ConfigMap').data.PAYMENTS_URL).toBe(
      'https://psp.example.com',
    );
  });

  it('refuses to render without a database, and uses an existing Secret instead of its own', () => {
    expect(() => renderer.render()).toThrow(/DATABASE_URL is required/);
    const external = objects({ secret: { existingSecret: 'shop-credentials' } });
    expect(external.find((object) => object.kind === 'Secret')).toBeUndefined();
    const deployment = external.find((object) => object.metadata.name.endsWith('-api'));
    expect(pod(deployment).spec.containers[0].envFrom[1]).toEqual({
      secretRef: { name: 'shop-credentials' },
    });
  });
});

describe('Terraform example', () => {
  const main = read('deploy/terraform/main.tf');
  const variables = read('deploy/terraform/variables.tf');

  it('deploys the chart in this repository with declared variables only', () => {
    const chartPath = main.match(/chart\s*=\s*"\$\{path\.module\}\/([^"]+)"/)![1];
    expect(existsSync(path.join(ROOT, 'deploy/terraform', chartPath, 'Chart.yaml'))).toBe(true);
    const declared = new Set([...variables.matchAll(/^variable "(\w+)"/gm)].map((match) => match[1]));
    const used = new Set([...main.matchAll(/\bvar\.(\w+)/g)].map((match) => match[1]));
    for (const name of used) expect(declared, name).toContain(name);
    expect(variables).toMatch(/variable "database_url" \{[^}]*sensitive\s*=\s*true/);
  });
});
