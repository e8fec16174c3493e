// Labelled corpus for the redaction quality test. Positives carry the exact secret values that
// must disappear; negatives must come out unchanged. Examples mimic what lands in Claude Code
// sessions: shell output, `env` dumps, .env files, JSON API responses, YAML manifests, code,
// stack traces and curl commands.
import { Fake, groupEvery } from './fakes.js';

export interface PositiveExample {
  /** The rule expected to catch it (for the per-rule report; any rule removing the value counts). */
  rule: string;
  text: string;
  secrets: string[];
  ipAddresses?: boolean;
}

export interface NegativeExample {
  category: string;
  text: string;
  ipAddresses?: boolean;
}

const f = new Fake(20250101);
const positives: PositiveExample[] = [];
const negatives: NegativeExample[] = [];

function pos(rule: string, secrets: string[], text: string, ipAddresses?: boolean): void {
  positives.push({ rule, text, secrets, ...(ipAddresses ? { ipAddresses } : {}) });
}
function neg(category: string, text: string, ipAddresses?: boolean): void {
  negatives.push({ category, text, ...(ipAddresses ? { ipAddresses } : {}) });
}
const J = (value: unknown, replacer?: null, indent?: number) => JSON.stringify(value, replacer, indent);

// ------------------------------------------------------------------------------------------------
// Positives

{
  const rule = 'aws-access-key-id';
  let k = f.awsKeyId();
  pos(rule, [k], `$ env | grep AWS\nAWS_ACCESS_KEY_ID=${k}\nAWS_DEFAULT_REGION=eu-west-1`);
  k = f.awsKeyId();
  pos(rule, [k], `[default]\naws_access_key_id = ${k}\nregion = us-east-1`);
  // AWS's documented example keys are public placeholders (redaction.publicPlaceholders): left alone.
  neg('public-placeholder', `aws_access_key_id = AKIAIOSFODNN7EXAMPLE`);
  neg('public-placeholder', `AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`);
  neg('public-placeholder', `Parameters: {"user"=>{"email"=>"[FILTERED]", "password"=>"[FILTERED]"}}`);
  neg('public-placeholder', `DB_PASSWORD=****\nSTRIPE_PUBLISHABLE_KEY=pk_live_51HqLyjWDarjtT1zdp7dcXe4Pz`);
  k = f.awsKeyId('ASIA');
  pos(rule, [k], J({ Credentials: { AccessKeyId: k, Expiration: '2025-01-15T12:00:00Z' } }));
  k = f.awsKeyId();
  pos(rule, [k], `2025-01-15 10:31:02,118 botocore.credentials [DEBUG] Found credentials in environment variables: ${k}`);
  k = f.awsKeyId();
  pos(rule, [k], `docker run -e AWS_ACCESS_KEY_ID=${k} -e AWS_REGION=us-west-2 myimage:latest`);
  k = f.awsKeyId();
  pos(rule, [k], `https://bucket.s3.amazonaws.com/file.zip?AWSAccessKeyId=${k}&Expires=1736942400&Signature=abc`);
  k = f.awsKeyId();
  pos(rule, [k], `    access_key: ${k}\n    region: eu-central-1`);
  k = f.awsKeyId('ASIA');
  pos(rule, [k], `{"type":"tool_result","content":"export AWS_ACCESS_KEY_ID=${k}\\nexport AWS_SESSION=1"}`);
}

{
  const rule = 'aws-secret-access-key';
  let s = f.awsSecret();
  pos(rule, [s], `[default]\naws_access_key_id = ${f.awsKeyId()}\naws_secret_access_key = ${s}`);
  s = f.awsSecret();
  pos(rule, [s], `export AWS_SECRET_ACCESS_KEY=${s}`);
  s = f.awsSecret();
  pos(rule, [s], J({ Credentials: { AccessKeyId: f.awsKeyId('ASIA'), SecretAccessKey: s, SessionToken: `FwoGZXIvYXdzE${f.b64(60)}` } }, null, 2));
  s = f.awsSecret();
  pos(rule, [s], `aws_secret_access_key: ${s}`);
  s = f.awsSecret();
  pos(rule, [s], `{"content":"AWS_SECRET_ACCESS_KEY=${s}\\nAWS_REGION=us-east-1"}`);
  s = f.awsSecret();
  pos(rule, [s], `provider "aws" {\n  access_key = "${f.awsKeyId()}"\n  secret_key = "${s}"\n}`);
  s = f.awsSecret();
  pos(rule, [s], `      - name: AWS_SECRET_ACCESS_KEY\n        value: "${s}"`);
  s = f.awsSecret();
  pos(rule, [s], `AWS_SECRET_ACCESS_KEY: ${s}`);
}

{
  const rule = 'github-token';
  let t = f.github('p');
  pos(rule, [t], `$ git remote -v\norigin  https://${t}@github.com/acme/api.git (fetch)`);
  t = f.github('p');
  pos(rule, [t], `GITHUB_TOKEN=${t}`);
  t = f.github('o');
  pos(rule, [t], `github.com:\n    user: octocat\n    oauth_token: ${t}\n    git_protocol: https`);
  t = f.github('s');
  pos(rule, [t], `Run actions/checkout@v4\n  with:\n    token: ${t}`);
  t = f.github('u');
  pos(rule, [t], J({ token: t, expires_at: '2025-02-01T00:00:00Z' }));
  t = f.github('r');
  pos(rule, [t], J({ access_token: f.github('u'), refresh_token: t, token_type: 'bearer' }));
  t = f.githubPat();
  pos(rule, [t], `export GH_TOKEN="${t}"`);
  t = f.github('p');
  pos(rule, [t], `curl -H "Authorization: token ${t}" https://api.github.com/user/repos`);
  t = f.github('p');
  pos(rule, [t], `remote: Invalid username or password.\nfatal: Authentication failed for 'https://octocat:${t}@github.com/acme/web.git/'`);
  t = f.githubPat();
  pos(rule, [t], `const octokit = new Octokit({ auth: "${t}" });`);
}

{
  const rule = 'gitlab-token';
  let t = f.gitlab();
  pos(rule, [t], `git clone https://oauth2:${t}@gitlab.com/group/project.git`);
  t = f.gitlab();
  pos(rule, [t], `GITLAB_TOKEN=${t}`);
  t = f.gitlab();
  pos(rule, [t], `curl --header "PRIVATE-TOKEN: ${t}" "https://gitlab.example.com/api/v4/projects"`);
  t = f.gitlab();
  pos(rule, [t], J({ private_token: t }));
}

{
  const rule = 'slack-token';
  let t = f.slack('b');
  pos(rule, [t], `SLACK_BOT_TOKEN=${t}`);
  t = f.slack('p');
  pos(rule, [t], `client = WebClient(token="${t}")`);
  t = f.slack('b');
  pos(rule, [t], `slack:\n  token: ${t}\n  channel: "#deploys"`);
  // Found by fuzzing: six equal digits in a row in a numeric id is still a live token.
  t = 'xoxb-986274139936-2688888852596-RV7fX13fGIl7PMJJIMPC7A1h';
  pos(rule, [t], `export SLACK_BOT_TOKEN=${t}`);
  t = f.slack('a');
  pos(rule, [t], J({ ok: true, access_token: t, scope: 'chat:write' }));
  t = f.slack('b');
  pos(rule, [t], `curl -X POST -H 'Authorization: Bearer ${t}' https://slack.com/api/chat.postMessage`);
}

{
  const rule = 'slack-webhook';
  let p = f.slackWebhookPath();
  pos(rule, [p], `SLACK_WEBHOOK_URL=https://hooks.slack.com/services/${p}`);
  p = f.slackWebhookPath();
  pos(rule, [p], `curl -X POST -d '{"text":"deployed"}' https://hooks.slack.com/services/${p}`);
  p = f.slackWebhookPath();
  pos(rule, [p], J({ notifications: { slack: `https://hooks.slack.com/services/${p}` } }));
}

{
  const token = f.b64url(68);
  pos('discord-webhook', [token], `DISCORD_WEBHOOK=https://discord.com/api/webhooks/${f.digits(18)}/${token}`);
}

{
  const rule = 'stripe-key';
  let k = f.stripe('sk_live');
  pos(rule, [k], `STRIPE_SECRET_KEY=${k}`);
  k = f.stripe('sk_test');
  pos(rule, [k], `const stripe = require('stripe')('${k}');`);
  k = f.stripe('rk_live');
  pos(rule, [k], J({ stripe: { restricted_key: k } }));
  k = f.stripe('sk_live');
  pos(rule, [k], `curl https://api.stripe.com/v1/charges -u ${k}:`);
  k = `whsec_${f.alnum(32)}`;
  pos(rule, [k], `STRIPE_WEBHOOK_SECRET=${k}`);
}

{
  const rule = 'anthropic-api-key';
  let k = f.anthropic();
  pos(rule, [k], `ANTHROPIC_API_KEY=${k}`);
  k = f.anthropic();
  pos(rule, [k], `client = anthropic.Anthropic(api_key="${k}")`);
  k = f.anthropic();
  pos(rule, [k], `curl https://api.anthropic.com/v1/messages -H "x-api-key: ${k}" -H "anthropic-version: 2023-06-01"`);
  k = f.anthropic();
  pos(rule, [k], J({ env: { ANTHROPIC_API_KEY: k } }));
  k = f.anthropic();
  pos(rule, [k], `Error: 401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}} key=${k}`);
}

{
  const rule = 'openai-api-key';
  let k = f.openai();
  pos(rule, [k], `OPENAI_API_KEY=${k}`);
  k = f.openai(true);
  pos(rule, [k], `export OPENAI_API_KEY="${k}"`);
  k = f.openai(true);
  pos(rule, [k], `openai.api_key = "${k}"`);
  k = f.openai();
  pos(rule, [k], `-H "Authorization: Bearer ${k}"`);
  k = f.openai(true);
  pos(rule, [k], J({ llm: { provider: 'openai', key: k } }));
  k = f.openai();
  pos(rule, [k], `Incorrect API key provided: ${k}. You can find your API key at https://platform.openai.com/account/api-keys.`);
}

{
  const rule = 'google-api-key';
  let k = f.google();
  pos(rule, [k], `https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=${k}`);
  k = f.google();
  pos(rule, [k], `GOOGLE_API_KEY=${k}`);
  k = f.google();
  pos(rule, [k], J({ apiKey: k, authDomain: 'demo-app.firebaseapp.com', projectId: 'demo-app' }));
  k = f.google();
  pos(rule, [k], `const firebaseConfig = {\n  apiKey: "${k}",\n  projectId: "demo",\n};`);
}

{
  let k = f.npm();
  pos('npm-token', [k], `//registry.npmjs.org/:_authToken=${k}`);
  k = f.npm();
  pos('npm-token', [k], `NPM_TOKEN=${k}`);
  k = f.npm();
  pos('npm-token', [k], `npm config set //registry.npmjs.org/:_authToken ${k}`);
  k = f.huggingface();
  pos('huggingface-token', [k], `HF_TOKEN=${k}`);
  k = f.huggingface();
  pos('huggingface-token', [k], `huggingface-cli login --token ${k}`);
  k = f.sendgrid();
  pos('sendgrid-key', [k], `SENDGRID_API_KEY=${k}`);
  k = f.sendgrid();
  pos('sendgrid-key', [k], `sg = SendGridAPIClient('${k}')`);
  k = `pypi-AgEIcHlwaS5vcmc${f.b64url(70)}`;
  pos('pypi-token', [k], `[pypi]\n  username = __token__\n  password = ${k}`);
  k = `dop_v1_${f.hex(64)}`;
  pos('digitalocean-token', [k], `DIGITALOCEAN_TOKEN=${k}`);
  k = `${f.digits(10)}:AA${f.b64url(33)}`;
  pos('telegram-bot-token', [k], `https://api.telegram.org/bot${k}/getUpdates`);
  k = `${f.b64(86)}==`;
  pos('azure-storage-key', [k], `DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=${k};EndpointSuffix=core.windows.net`);
  k = `${f.b64(86)}==`;
  pos('azure-storage-key', [k], J({ ConnectionStrings: { Storage: `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${k}` } }));
}

{
  const rule = 'jwt';
  let t = f.jwt();
  pos(rule, [t], `curl -H "Authorization: Bearer ${t}" http://localhost:3000/api/me`);
  t = f.jwt();
  pos(rule, [t], `Set-Cookie: session=${t}; Path=/; HttpOnly; Secure`);
  t = f.jwt();
  pos(rule, [t], J({ id_token: t, token_type: 'Bearer', expires_in: 3600 }));
  t = f.jwt();
  pos(rule, [t], `2025-01-15T10:31:02.118Z debug auth verified jwt=${t} user=42`);
  t = f.jwt();
  pos(rule, [t], `localStorage.setItem('auth', '${t}')`);
  t = f.jwt();
  pos(rule, [t], `> document.cookie\n'theme=dark; access=${t}'`);
}

{
  const rule = 'private-key';
  let k = f.pem('RSA ');
  pos(rule, [k.body], `$ cat ~/.ssh/id_rsa\n${k.block}\n$ `);
  k = f.pem('OPENSSH ');
  pos(rule, [k.body], k.block);
  k = f.pem('EC ');
  pos(rule, [k.body], `key.pem:\n${k.block}`);
  k = f.pem('');
  pos(
    rule,
    k.body.split('\n'),
    J({ type: 'service_account', project_id: 'demo', private_key: `${k.block}\n`, client_email: 'svc@demo.iam.gserviceaccount.com' }),
  );
  k = f.pem('ENCRYPTED ');
  pos(
    rule,
    [k.body],
    `tls:\n  key: |\n${k.block
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}`,
  );
  // Output cut off before the END line.
  const body = f.pemBody(4);
  pos(rule, body.split('\n'), `-----BEGIN RSA PRIVATE KEY-----\n${body}\n[output truncated]`);
}

{
  const rule = 'authorization-header';
  let t = f.alnum(40);
  pos(rule, [t], `curl -s -H "Authorization: Bearer ${t}" https://api.example.com/v1/users`);
  const basic = Buffer.from(`admin:${f.alnum(12)}`).toString('base64');
  pos(rule, [basic], `curl -H 'Authorization: Basic ${basic}' https://ci.internal/api/json`);
  t = f.alnum(32);
  pos(rule, [t], J({ method: 'GET', headers: { Authorization: `Bearer ${t}`, Accept: 'application/json' } }));
  t = f.alnum(36);
  pos(rule, [t], `GET /api/v2/orders HTTP/1.1\nHost: shop.example.com\nAuthorization: Bearer ${t}\nUser-Agent: curl/8.4.0`);
  t = f.alnum(28);
  pos(rule, [t], `headers = {"Authorization": "Token ${t}", "Content-Type": "application/json"}`);
  t = `${f.alnum(24)}.${f.alnum(16)}`;
  pos(rule, [t], `fetch(url, { headers: { authorization: 'Bearer ${t}' } })`);
  const proxyBasic = Buffer.from(`proxyuser:${f.alnum(30)}`).toString('base64');
  pos(rule, [proxyBasic], `Proxy-Authorization: Basic ${proxyBasic}`);
  t = f.alnum(40);
  pos(rule, [t], `http GET api.example.com/items "Authorization:Bearer ${t}"`);
  t = f.alnum(44);
  pos(rule, [t], `{"type":"tool_use","input":{"command":"curl -H \\"Authorization: Bearer ${t}\\" https://api.example.com"}}`);
  t = f.alnum(32);
  pos(rule, [t], `> Authorization: Bearer ${t}\n< HTTP/2 200`);
  t = f.alnum(40);
  pos(rule, [t], `request headers: {'authorization': 'bearer ${t}', 'accept': '*/*'}`);
}

{
  const rule = 'url-credentials';
  let p = f.alnum(16);
  pos(rule, [p], `DATABASE_URL=postgres://app:${p}@db.internal:5432/app_production`);
  p = f.password();
  pos(rule, [p], `psql "postgresql://admin:${p}@localhost:5432/postgres"`);
  p = f.alnum(20);
  pos(rule, [p], `MONGO_URI=mongodb+srv://svc-api:${p}@cluster0.ab1cd.mongodb.net/prod?retryWrites=true&w=majority`);
  p = f.alnum(24);
  pos(rule, [p], `REDIS_URL=redis://:${p}@redis-12345.c1.us-east-1.ec2.cloud.redislabs.com:12345`);
  p = f.alnum(14);
  pos(rule, [p], `amqp://guest:${p}@rabbitmq:5672/vhost`);
  p = f.alnum(18);
  pos(rule, [p], `mysql://root:${p}@127.0.0.1:3306/shop`);
  p = f.alnum(22);
  pos(rule, [p], `Cloning into 'repo'...\ngit clone https://deploy:${p}@bitbucket.org/acme/repo.git`);
  p = f.password();
  pos(rule, [p], J({ datasource: { url: `postgresql://reporting:${p}@10.0.3.12:5432/analytics` } }));
  p = f.alnum(12);
  pos(rule, [p], `Error: connect ECONNREFUSED at Connection.connect (postgres://worker:${p}@db:5432/jobs)`);
  p = f.alnum(16);
  pos(rule, [p], `ftp://ftpuser:${p}@files.example.org/pub/`);
}

{
  const rule = 'cli-credentials';
  let p = f.password();
  pos(rule, [p], `curl -u admin:${p} https://jenkins.internal/job/build/api/json`);
  p = f.password();
  pos(rule, [p], `mysql -h db.internal -u root -p${p} shop < dump.sql`);
  p = f.password();
  pos(rule, [p], `sshpass -p '${p}' ssh deploy@10.0.0.5`);
  p = f.alnum(20);
  pos(rule, [p], `docker login registry.example.com -u ci -p ${p}`);
  p = f.password();
  pos(rule, [p], `mysqldump -uroot -p'${p}' --all-databases > backup.sql`);
}

{
  const rule = 'password-assignment';
  let p = 'hunter2';
  pos(rule, [p], `DB_PASSWORD=${p}`);
  p = f.password();
  pos(rule, [p], `# .env\nNODE_ENV=production\nDB_HOST=db.internal\nDB_PASSWORD=${p}\nDB_USER=app`);
  p = f.password();
  pos(rule, [p], `services:\n  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_PASSWORD=${p}\n      - POSTGRES_DB=app`);
  p = f.password();
  pos(rule, [p], `    environment:\n      POSTGRES_PASSWORD: ${p}\n      POSTGRES_USER: app`);
  p = f.password();
  pos(rule, [p], `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\nstringData:\n  password: ${p}`);
  p = Buffer.from(f.password()).toString('base64');
  pos(rule, [p], `apiVersion: v1\nkind: Secret\ndata:\n  password: ${p}\n  username: YWRtaW4=`);
  p = f.password();
  pos(rule, [p], J({ database: { host: 'localhost', user: 'app', password: p } }, null, 2));
  p = f.password();
  pos(rule, [p], `conn = psycopg2.connect(host="db", user="app", password="${p}")`);
  p = f.password();
  pos(rule, [p], `spring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.password=${p}`);
  p = f.password();
  pos(rule, [p], `./manage.py createsuperuser --username admin --password=${p}`);
  p = f.password();
  pos(rule, [p], `vault login -method=userpass username=ops password=${p}`);
  p = f.password();
  pos(rule, [p], `PGPASSWORD=${p} psql -h db -U app -c 'select 1'`);
  p = f.password();
  pos(rule, [p], `config.database = { 'password' => '${p}', 'host' => 'db' }`);
  p = f.password();
  pos(rule, [p], `$config['db_password'] = '${p}';`);
  p = f.password();
  pos(rule, [p], `cfg := Config{User: "app", Password: "${p}"}`);
  p = f.password();
  pos(rule, [p], `Server=tcp:sql.example.com,1433;Database=app;User ID=sa;Password=${p};Encrypt=true`);
  p = f.password();
  pos(rule, [p], `{"type":"tool_result","content":"{\\"username\\":\\"admin\\",\\"password\\":\\"${p}\\"}"}`);
  p = f.password();
  pos(rule, [p], `MYSQL_ROOT_PASSWORD=${p}`);
  p = f.password();
  pos(rule, [p], `<dataSource>\n  <username>app</username>\n  <password>${p}</password>\n</dataSource>`);
  p = f.password();
  pos(rule, [p], `jdbc:mysql://db:3306/shop?user=app&password=${p}&useSSL=true`);
  p = f.password();
  pos(rule, [p], `redis-cli -h cache.internal --pass ${p} ping`);
  p = 'correct horse battery staple';
  pos(rule, [p], J({ passphrase: p }));
  p = f.password();
  pos(rule, [p], `export DB_PASS=${p}`);
  p = f.password();
  pos(rule, [p], `const pool = new Pool({ user: 'app', password: '${p}', host: 'db' });`);
  p = f.password();
  pos(rule, [p], `Login failed. Attempted with user=admin password=${p}`);
}

{
  const rule = 'secret-assignment';
  let s = f.alnum(32);
  pos(rule, [s], `CLIENT_SECRET=${s}`);
  s = f.alnum(40);
  pos(rule, [s], `oauth:\n  client_id: web-app\n  client_secret: ${s}`);
  s = f.b64url(40);
  pos(rule, [s], J({ client_id: '1234.apps.example.com', client_secret: s, redirect_uris: ['http://localhost'] }));
  s = `django-insecure-${f.alnum(40)}`;
  pos(rule, [s], `SECRET_KEY = '${s}'`);
  s = f.hex(64);
  pos(rule, [s], `JWT_SECRET=${s}`);
  s = f.hex(128);
  pos(rule, [s], `production:\n  secret_key_base: ${s}`);
  s = f.alnum(24);
  pos(rule, [s], `app.secret_key = "${s}"`);
  s = f.b64(44);
  pos(rule, [s], `ENCRYPTION_KEY=${s}`);
  s = f.alnum(32);
  pos(rule, [s], `GITHUB_WEBHOOK_SECRET=${s}`);
  s = f.hex(32);
  pos(rule, [s], `{"content":"NEXTAUTH_SECRET=${s}\\nNEXTAUTH_URL=http://localhost:3000"}`);
  s = f.alnum(30);
  pos(rule, [s], `kubectl create secret generic api --from-literal=api-secret=${s}`);
}

{
  const rule = 'token-assignment';
  let t = f.alnum(32);
  pos(rule, [t], `API_TOKEN=${t}`);
  t = f.b64url(43);
  pos(rule, [t], J({ access_token: t, token_type: 'Bearer', expires_in: 3599, scope: 'read' }));
  t = f.b64url(60);
  pos(rule, [t], J({ refresh_token: t }));
  t = `hvs.${f.alnum(24)}`;
  pos(rule, [t], `export VAULT_TOKEN=${t}`);
  t = f.alnum(40);
  pos(rule, [t], `https://app.example.com/callback#access_token=${t}&token_type=bearer&expires_in=3600`);
  t = f.alnum(40);
  pos(rule, [t], `CLOUDFLARE_API_TOKEN=${t}`);
  t = f.alnum(30);
  pos(rule, [t], `terraform login --token ${t}`);
  t = f.alnum(36);
  pos(rule, [t], `auth:\n  token: ${t}`);
  t = f.hex(40);
  pos(rule, [t], `sentry-cli --auth-token=${t} releases new 1.2.3`);
  t = f.alnum(26);
  pos(rule, [t], `const client = new Client({ authToken: "${t}" });`);
  t = f.alnum(32);
  pos(rule, [t], `{"content":"TELEGRAM_TOKEN=${t}\\n"}`);
}

{
  const rule = 'api-key-assignment';
  let k = f.hex(32);
  pos(rule, [k], `OPENWEATHER_API_KEY=${k}`);
  k = f.alnum(32);
  pos(rule, [k], J({ service: 'mapbox', apiKey: k }));
  k = f.alnum(40);
  pos(rule, [k], `algolia:\n  app_id: ABC123\n  api_key: ${k}`);
  k = f.alnum(32);
  pos(rule, [k], `curl -H "X-Api-Key: ${k}" https://api.example.com/v1/status`);
  k = f.alnum(32);
  pos(rule, [k], `GET /v1/forecast?lat=52.5&lon=13.4&api_key=${k}&units=metric`);
  k = `key-${f.hex(32)}`;
  pos(rule, [k], `MAILGUN_API_KEY=${k}`);
  k = f.hex(32);
  pos(rule, [k], `DD_API_KEY=${k}`);
  k = f.alnum(24);
  pos(rule, [k], `./deploy.sh --api-key=${k} --env prod`);
  k = f.alnum(20);
  pos(rule, [k], `ACCESS_KEY=${k}`);
  k = f.alnum(32);
  pos(rule, [k], `apikey: "${k}"`);
  k = f.alnum(32);
  pos(rule, [k], `requests.get(url, params={"apikey": "${k}"})`);
}

{
  const rule = 'email';
  pos(
    rule,
    ['jane.doe@gmail.com'],
    `commit 3f9a2c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d\nAuthor: Jane Doe <jane.doe@gmail.com>\nDate:   Mon Jan 6 10:12:00 2025 +0100`,
  );
  pos(rule, ['m.mueller@firma.de'], J({ id: 42, name: 'Max Müller', email: 'm.mueller@firma.de', role: 'admin' }));
  pos(rule, ['support+billing@acme-corp.io'], `Questions? Contact support+billing@acme-corp.io or open a ticket.`);
  pos(rule, ['bob@example.org'], `<a href="mailto:bob@example.org">Email Bob</a>`);
  pos(rule, ['alice.w@company.co.uk'], `id,name,email\n17,Alice W,alice.w@company.co.uk\n`);
  pos(rule, ['ops-team@startup.dev'], `Co-Authored-By: Ops <ops-team@startup.dev>`);
  pos(rule, ['carlos_r@hotmail.com'], `UserNotFoundError: no account for carlos_r@hotmail.com (tenant=eu)`);
  pos(rule, ['John.Smith@Example.COM'], `To: John.Smith@Example.COM`);
  pos(rule, ['dev.lead@mail.eng.example.net'], `git config user.email "dev.lead@mail.eng.example.net"`);
  pos(rule, ['priya.k@uni.edu'], `{"content":"Sent invite to priya.k@uni.edu\\nDone."}`);
}

{
  const rule = 'phone-number';
  pos(rule, ['+1 415-555-2671'], `Call us at +1 415-555-2671 between 9 and 5.`);
  pos(rule, ['(415) 555-2671'], `Phone: (415) 555-2671`);
  pos(rule, ['415-555-2671'], J({ name: 'Jane', phone: '415-555-2671' }));
  pos(rule, ['415.555.2671'], `cell 415.555.2671`);
  pos(rule, ['+44 20 7946 0958'], `UK office: +44 20 7946 0958`);
  pos(rule, ['+49 30 12345678'], `Telefon: +49 30 12345678`);
  pos(rule, ['+33 6 12 34 56 78'], `portable : +33 6 12 34 56 78`);
  pos(rule, ['020 7946 0958'], `Tel 020 7946 0958 (London)`);
  pos(rule, ['06 12 34 56 78'], `Appelez le 06 12 34 56 78 demain`);
  pos(rule, ['+14155552671'], `twilio.messages.create(to="+14155552671", body="hi")`);
  pos(rule, ['+1-202-555-0143'], `<a href="tel:+1-202-555-0143">call</a>`);
}

{
  const rule = 'credit-card';
  let c = f.card('4', 16);
  pos(rule, [groupEvery(c, 4)], `Card: ${groupEvery(c, 4)} exp 12/27`);
  c = f.card('51', 16);
  pos(rule, [groupEvery(c, 4, '-')], `charge failed for card ${groupEvery(c, 4, '-')}`);
  c = f.card('37', 15);
  const amex = `${c.slice(0, 4)} ${c.slice(4, 10)} ${c.slice(10)}`;
  pos(rule, [amex], `AMEX ${amex}`);
  c = f.card('4', 16);
  pos(rule, [c], J({ card_number: c, cvc: '123' }));
  c = f.card('6011', 16);
  pos(rule, [c], `payment_method=discover number=${c}`);
  c = f.card('3530', 16);
  pos(rule, [groupEvery(c, 4)], `JCB ${groupEvery(c, 4)}`);
  pos(rule, ['4242 4242 4242 4242'], `Use the test card 4242 4242 4242 4242 with any CVC.`);
  c = f.card('2221', 16);
  pos(rule, [c], `pan=${c}`);
}

{
  const rule = 'iban';
  let i = f.iban('DE');
  pos(rule, [groupEvery(i, 4)], `IBAN: ${groupEvery(i, 4)}`);
  i = f.iban('GB');
  pos(rule, [i], `Please pay to ${i} by Friday.`);
  i = f.iban('FR');
  pos(rule, [i], J({ iban: i, bic: 'BNPAFRPP' }));
  i = f.iban('NL');
  pos(rule, [i], `rekening ${i}`);
  i = f.iban('ES');
  pos(rule, [groupEvery(i, 4)], `Cuenta: ${groupEvery(i, 4)}`);
  pos(rule, ['DE89 3704 0044 0532 0130 00'], `beneficiary DE89 3704 0044 0532 0130 00 (Commerzbank)`);
}

{
  const rule = 'us-ssn';
  let s = f.ssn();
  pos(rule, [s], `SSN: ${s}`);
  s = f.ssn();
  pos(rule, [s], J({ applicant: { name: 'J. Doe', ssn: s } }));
  s = f.ssn();
  pos(rule, [s], `ssn,name\n${s},Jane Roe`);
  s = f.ssn();
  pos(rule, [s], `Validation error: ssn "${s}" already registered`);
  s = f.ssn();
  pos(rule, [s], `tax id ${s}`);
}

{
  const rule = 'ip-address';
  pos(rule, ['203.0.113.42'], `Accepted publickey for deploy from 203.0.113.42 port 52144 ssh2`, true);
  pos(rule, ['198.51.100.7'], J({ client_ip: '198.51.100.7' }), true);
  pos(rule, ['2001:db8:85a3::8a2e:370:7334'], `inet6 2001:db8:85a3::8a2e:370:7334/64 scope global`, true);
  pos(rule, ['192.168.1.23'], `ssh admin@192.168.1.23`, true);
}

{
  // Formats without a plain `key=value` shape.
  let p = f.password();
  pos('password-assignment', [p], `$ cat ~/.netrc\nmachine api.heroku.com login me@example.com password ${p}`);
  p = f.password();
  pos('password-assignment', [p], `CREATE USER app WITH PASSWORD '${p}';`);
  p = f.password();
  pos('password-assignment', [p], `ALTER ROLE reporting LOGIN PASSWORD '${p}' VALID UNTIL 'infinity';`);
  p = f.password();
  pos('password-assignment', [p], `mysql> CREATE USER 'app'@'%' IDENTIFIED BY '${p}';`);
  p = f.alnum(24);
  pos('password-assignment', [p], `redis-server --requirepass ${p} --appendonly yes`);
  const auth = Buffer.from(`ci-bot:${f.alnum(20)}`).toString('base64');
  pos('token-assignment', [auth], J({ auths: { 'registry.example.com': { auth } } }));
  const npmAuth = Buffer.from(`deploy:${f.alnum(16)}`).toString('base64');
  pos('token-assignment', [npmAuth], `_auth=${npmAuth}\nalways-auth=true`);
  let c = f.alnum(32);
  pos('cookie', [c], `curl -H "Cookie: sessionid=${c}; theme=dark" https://app.example.com/dashboard`);
  c = f.b64url(40);
  pos('cookie', [c], `HTTP/1.1 302 Found\nSet-Cookie: __Host-session=${c}; Path=/; Secure; HttpOnly; SameSite=Lax`);
  c = f.hex(40);
  pos('cookie', [c], `curl -b "connect.sid=${c}" http://localhost:3000/api/me`);
  let t = `ya29.${f.b64url(60)}`;
  pos('google-oauth-token', [t], `$ gcloud auth print-access-token\n${t}`);
  t = `shpat_${f.hex(32)}`;
  pos('shopify-token', [t], `SHOPIFY_ACCESS_TOKEN=${t}`);
  t = `AGE-SECRET-KEY-1${f.upperAlnum(58)}`;
  pos('age-secret-key', [t], `# created: 2025-01-15T10:00:00Z\n# public key: age1${f.hex(20)}\n${t}`);
  const pem = f.pem('');
  pos('private-key', pem.body.split('\n'), `PRIVATE_KEY="${pem.block.replace(/\n/g, '\\n')}"`);
  const sigCred = f.awsKeyId();
  const sig = f.hex(64);
  pos(
    'authorization-header',
    [sigCred, sig],
    `Authorization: AWS4-HMAC-SHA256 Credential=${sigCred}/20250115/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
  );
  t = f.b64url(40);
  pos('token-assignment', [t], `X-Auth-Token: ${t}`);
  t = `FwoGZXIvYXdzE${f.b64(120)}`;
  pos('token-assignment', [t], J({ Credentials: { SessionToken: t } }));
  p = f.password();
  pos('password-assignment', [p], `protocol=https\nhost=git.example.com\nusername=ci\npassword=${p}`);
  p = f.password();
  pos('password-assignment', [p], `[{"name": "DB_PASSWORD", "value": "${p}"}, {"name": "PORT", "value": "8080"}]`);
  p = f.password();
  pos(
    'password-assignment',
    [p],
    `aws ssm put-parameter --name /app/db --value x --tags Key=owner,Value=ops && aws ecs run-task --overrides Name=DB_PASSWORD,Value=${p}`,
  );
}

{
  // Written after the engine was tuned and measured once before any fix (36/38 recalled, 0/40
  // flagged); kept as a regression set.
  const h = new Fake(99);
  let v = h.alnum(40);
  pos('authorization-header', [v], `wget --header="Authorization: Bearer ${v}" https://x.io/f.tgz`);
  v = h.password();
  pos('url-credentials', [v], `$ heroku config\n=== app Config Vars\nDATABASE_URL: postgres://u1:${v}@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8`);
  v = h.alnum(32);
  pos('token-assignment', [v], `Environment:\n  SECRET_TOKEN: ${v}`);
  v = h.github('p');
  pos('github-token', [v], `[credential "https://github.com"]\n\thelper = store\n# ${v}`);
  v = h.alnum(24);
  pos('token-assignment', [v], `ENV AUTH_TOKEN=${v}`);
  v = h.alnum(20);
  pos('token-assignment', [v], `ARG NPM_AUTH_TOKEN=${v}`);
  v = h.password();
  pos('password-assignment', [v], `  "db_password": "${v}",`);
  v = h.password();
  pos('url-credentials', [v], `mongo "mongodb://admin:${v}@localhost:27017/?authSource=admin"`);
  v = h.alnum(32);
  pos('api-key-assignment', [v], `os.environ["OPENAI_API_KEY"] = "${v}"`);
  v = h.alnum(32);
  pos('api-key-assignment', [v], `process.env.STRIPE_KEY = '${v}';`);
  h.password();
  v = h.password();
  pos('password-assignment', [v], `PASSWORD="${v}"`);
  h.password();
  v = h.alnum(40);
  pos('token-assignment', [v], `twilio:\n  account_sid: AC${h.hex(32)}\n  auth_token: ${v}`);
  v = h.hex(40);
  pos('token-assignment', [v], `{"data":{"token":"${v}","expires":"2025-02-01"}}`);
  v = h.alnum(30);
  pos('secret-assignment', [v], `> POST /oauth/token\n> grant_type=client_credentials&client_id=web&client_secret=${v}`);
  v = h.jwt();
  pos('jwt', [v], `Cookie: jwt=${v}`);
  v = h.anthropic();
  pos('anthropic-api-key', [v], `claude config set apiKey ${v}`);
  v = h.google();
  pos('google-api-key', [v], `<script src="https://maps.googleapis.com/maps/api/js?key=${v}&callback=initMap"></script>`);
  v = h.password();
  pos('password-assignment', [v, 'me@gmail.com'], `smtp:\n  host: smtp.gmail.com\n  user: me@gmail.com\n  pass: ${v}`);
  v = h.password();
  pos('password-assignment', [v], `ansible-playbook site.yml -e "ansible_become_pass=${v}"`);
  v = h.alnum(36);
  pos('token-assignment', [v], `vercel --token=${v} deploy --prod`);
  v = h.b64(44);
  pos('secret-assignment', [v], `WEBHOOK_SIGNING_SECRET="${v}"`);
  v = h.password();
  pos('password-assignment', [v], `user: admin\npassword: ${v}\nhost: db.example.com`);
  v = h.alnum(32);
  pos('api-key-assignment', [v], `headers: {\n  'X-API-KEY': '${v}',\n}`);
  v = h.alnum(32);
  pos('api-key-assignment', [v], `Api-Key: ${v}`);
  pos('credit-card', ['4532 0151 1283 0366'], `Card number: 4532 0151 1283 0366, CVV 123`);
  pos('phone-number', ['+61 2 9374 4000'], `Sydney office +61 2 9374 4000`);
  pos('email', ['j.smith@corp.example.com'], `ERROR user j.smith@corp.example.com failed login`);
  v = h.ssn();
  pos('us-ssn', [v], `SSN ${v} DOB 1980-01-01`);
  v = h.iban('IT');
  pos('iban', [v], `IBAN ${v}`);
  v = h.pem('EC ').body;
  pos('private-key', [v], `-----BEGIN EC PRIVATE KEY-----\n${v}\n-----END EC PRIVATE KEY-----`);
  v = h.alnum(32);
  pos('api-key-assignment', [v], `const config = { apiKey: "${v}", region: "us-east-1" };`);
  v = h.alnum(32);
  pos('secret-assignment', [v], `export const SECRET = "${v}";`);
  v = h.password();
  pos('password-assignment', [v], `    --db-password ${v} \\`);
  v = h.alnum(30);
  pos('token-assignment', [v], `http://localhost:8888/?token=${v}`);
  v = h.stripe('sk_live');
  pos('stripe-key', [v], `Stripe::api_key = "${v}"`);
  v = h.slack('b');
  pos('slack-token', [v], `"SLACK_TOKEN": "${v}"`);
  v = h.password();
  pos('password-assignment', [v], `Your new password is: ${v}`);
  v = h.alnum(26);
  pos('token-assignment', [v], `DISCORD_BOT_TOKEN=${v}.${h.alnum(6)}.${h.alnum(27)}`);
}

// ------------------------------------------------------------------------------------------------
// Negatives

{
  const sha = () => f.hex(40);
  neg('git', `commit ${sha()}\nMerge: ${f.hex(7)} ${f.hex(7)}\nDate:   Tue Jan 7 09:00:00 2025 +0000`);
  neg('git', `${f.hex(7)} fix(auth): refresh token before expiry\n${f.hex(7)} chore: bump deps\n${f.hex(7)} feat: add password reset flow`);
  neg('git', `diff --git a/src/auth.ts b/src/auth.ts\nindex ${f.hex(7)}..${f.hex(7)} 100644\n--- a/src/auth.ts\n+++ b/src/auth.ts`);
  neg('git', `HEAD is now at ${f.hex(7)} Merge pull request #1234 from acme/fix-token-refresh`);
  neg('git', `$ git push origin main\nTo github.com:acme/api.git\n   ${f.hex(7)}..${f.hex(7)}  main -> main`);
  neg('git', `git@github.com:acme/infra.git`);
  neg(
    'git',
    `remote: Resolving deltas: 100% (42/42), completed with 7 local objects.\nTo https://github.com/acme/web.git\n * [new branch]      feature/password-reset -> feature/password-reset`,
  );
  neg('git', `[main ${f.hex(7)}] Rename getToken to fetchAccessToken\n 3 files changed, 27 insertions(+), 14 deletions(-)`);
}

{
  const uuid = () => `${f.hex(8)}-${f.hex(4)}-4${f.hex(3)}-a${f.hex(3)}-${f.hex(12)}`;
  neg('uuid', J({ sessionId: uuid(), parentUuid: uuid(), uuid: uuid(), requestId: `req_${f.alnum(24)}` }));
  neg('uuid', `x-request-id: ${uuid()}`);
  neg('uuid', `Created job ${uuid()} (status=queued)`);
  neg('uuid', `INSERT INTO sessions (id) VALUES ('${uuid()}');`);
  neg('uuid', `urn:uuid:${uuid()}`);
  neg('uuid', `550e8400-e29b-41d4-a716-446655440000`);
}

{
  neg('base64-image', `<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${f.b64(600)}==" />`);
  neg('base64-image', J({ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: `/9j/4AAQSkZJRgABAQ${f.b64(1200)}` } }));
  neg(
    'base64-image',
    `background-image: url(data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxMCAxMCI+PC9zdmc+);`,
  );
  neg('base64-image', `"favicon": "data:image/x-icon;base64,AAABAAEAEBAAAAEAIABoBAAAFgAAACgAAAAQAAAAIAAAAAEAIAAAAAAAAAQAABILAAASCwAAAAAAAAAAAAD${f.b64(300)}"`);
}

{
  neg(
    'lockfile',
    `"node_modules/react": {\n  "version": "18.2.0",\n  "resolved": "https://registry.npmjs.org/react/-/react-18.2.0.tgz",\n  "integrity": "sha512-${f.b64(86)}=="\n}`,
  );
  neg('lockfile', `integrity sha512-${f.b64(86)}==`);
  neg('lockfile', `"integrity": "sha1-${f.b64(27)}="`);
  neg('lockfile', `resolution: {integrity: sha512-${f.b64(86)}==}`);
  neg('lockfile', `"@babel/core@^7.22.5":\n  version "7.23.2"\n  resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.23.2.tgz#${f.hex(40)}"`);
  neg('lockfile', `  /typescript@5.3.3:\n    resolution: {integrity: sha512-${f.b64(86)}==}\n    engines: {node: '>=14.17'}\n    hasBin: true`);
}

{
  neg('digest', `sha256:${f.hex(64)}`);
  neg('digest', `ghcr.io/acme/api@sha256:${f.hex(64)}`);
  neg('digest', `${f.hex(64)}  dist/app.tar.gz`);
  neg('digest', `Digest: sha256:${f.hex(64)}\nStatus: Downloaded newer image for node:20-alpine`);
  neg('digest', `md5: ${f.hex(32)}`);
  neg('digest', `ETag: "${f.hex(32)}"`);
  neg('digest', `"checksum": "${f.hex(64)}"`);
  neg('digest', `Successfully built ${f.hex(12)}`);
}

{
  // Code that talks about secrets without containing any.
  neg('code', `const password = getPassword();`);
  neg('code', `password = getPassword()`);
  neg('code', `token: string;`);
  neg('code', `interface Credentials {\n  username: string;\n  password: string;\n  token?: string;\n  apiKey: string | undefined;\n}`);
  neg('code', `const token = await getAccessToken(session);`);
  neg('code', `const apiKey = process.env.API_KEY;`);
  neg('code', `api_key = os.environ["API_KEY"]`);
  neg('code', `api_key = os.getenv("OPENAI_API_KEY")`);
  neg('code', `self.password = password`);
  neg('code', `def reset_password(user, new_password):\n    user.set_password(new_password)\n    user.save()`);
  neg('code', `if (password !== confirmPassword) throw new Error('Passwords do not match');`);
  neg('code', `if password == "":\n    raise ValueError("password required")`);
  neg('code', `const { token, refreshToken } = await auth.login(email, password);`);
  neg('code', `headers: { Authorization: \`Bearer \${token}\` },`);
  neg('code', `secret: z.string().min(32),`);
  neg('code', `password: z.string().min(8).max(128),`);
  neg('code', `tokenizer = AutoTokenizer.from_pretrained(model_name)\ntokens = tokenizer.encode(text)`);
  neg('code', `max_tokens: 4096,\ntemperature: 0.7,`);
  neg('code', `func (c *Client) SetToken(token string) { c.token = token }`);
  neg('code', `let secret = std::env::var("APP_SECRET").expect("APP_SECRET must be set");`);
  neg('code', `String password = request.getParameter("password");`);
  neg('code', `passwordInput.addEventListener('input', validatePassword);`);
  neg('code', `token = None`);
  neg('code', `password = input("Password: ")`);
  neg('code', `export const TOKEN_TTL_SECONDS = 3600;`);
  neg('code', `const secretName = "prod/db/credentials";`);
  neg('code', `type TokenResponse = { access_token: string; token_type: "Bearer"; expires_in: number };`);
  neg('code', `@Column() password_hash: string;`);
  neg('code', `cursor.execute("UPDATE users SET password = %s WHERE id = %s", (hashed, user_id))`);
  neg('code', `SELECT id, email FROM users WHERE password_hash = $1 AND token = $2`);
  neg('code', `db.query('SELECT * FROM sessions WHERE token = :token', { token })`);
  neg('code', `const [password, setPassword] = useState("");`);
  neg('code', `<input type="password" name="password" value={password} onChange={onChange} />`);
  neg('code', `password: ${'$'}{{ secrets.DB_PASSWORD }}`);
  neg('code', `token: \${{ secrets.GITHUB_TOKEN }}`);
  neg('code', `apiKey: config.get('apiKey'),`);
  neg('code', `secret_key = settings.SECRET_KEY`);
  neg('code', `private_key = load_pem_private_key(data, password=None)`);
  neg('code', `access_token = response.json()["access_token"]`);
  neg('code', `read -s -p "Password: " password`);
  neg('code', `if [ -z "$GITHUB_TOKEN" ]; then echo "GITHUB_TOKEN is not set"; exit 1; fi`);
  neg('code', `password=$(cat /run/secrets/db_password)`);
  neg('code', `TOKEN=$(gh auth token)`);
  neg('code', `export API_KEY="$API_KEY"`);
  neg('code', `pass: true,\nfail: false,`);
  neg('code', `const bypass = cache.bypass;`);
  neg('code', `compass: north`);
  neg('code', `isSecret: false,\nsecret: true,`);
  neg('code', `tokens.push(token);`);
  neg('code', `function hashPassword(password: string): Promise<string> { return bcrypt.hash(password, 12); }`);
  neg('code', `const sk = createSigningKey();`);
  neg('code', `class TokenBucket:\n    def __init__(self, capacity: int):\n        self.tokens = capacity`);
  neg('code', `password: Optional[str] = None`);
  neg('code', `api_key: str = Field(..., env="API_KEY")`);
  neg('code', `token: String,`);
  neg('code', `"password": { "type": "string", "minLength": 8 }`);
  neg('code', `| password | string | The user's password |`);
  neg('code', `@param {string} token - The access token used to authenticate.`);
  neg('code', `// TODO: rotate the secret: see docs/secrets.md`);
  neg('code', `authorization: this.authorizationHeader(),`);
  neg('code', `.sk-spinner-double-bounce { animation: sk-bounce 2s infinite ease-in-out; }`);
  neg('code', `const risk-assessment = task-runner-config;`);
}

{
  neg('placeholder', `secret=<your-secret>`);
  neg('placeholder', `API_KEY=\${API_KEY}`);
  neg('placeholder', `PASSWORD=changeme`);
  neg('placeholder', `DB_PASSWORD=xxx`);
  neg('placeholder', `OPENAI_API_KEY=your-api-key-here`);
  neg('placeholder', `password: "{{ .Values.db.password }}"`);
  neg('placeholder', `token = "<TOKEN>"`);
  neg('placeholder', `api_key="YOUR_API_KEY"`);
  neg('placeholder', `password: ********`);
  neg('placeholder', `AWS_SECRET_ACCESS_KEY=<your-secret-access-key>`);
  neg('placeholder', `GITHUB_TOKEN=ghp_${'x'.repeat(36)}`);
  neg('placeholder', `client_secret: REPLACE_ME`);
  neg('placeholder', `"password": ""`);
  neg('placeholder', `password=`);
  neg('placeholder', `"token": null`);
  neg('placeholder', `SECRET_KEY=...`);
  neg('placeholder', `curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user`);
  neg('placeholder', `curl -H "Authorization: Bearer <token>" https://api.example.com`);
  neg('placeholder', `postgres://user:\${DB_PASSWORD}@db:5432/app`);
  neg('placeholder', `postgres://user:password@localhost:5432/mydb`);
  neg('placeholder', `Token: ghp_************************************`);
  neg('placeholder', `password: !vault |`);
  neg('placeholder', `PASSWORD=%DB_PASSWORD%`);
  neg('placeholder', `api_key = "sk-..."`);
  neg('placeholder', `token: "\${TOKEN}"`);
  neg('placeholder', `MYSQL_PASSWORD=example`);
  neg('placeholder', `secret: my-secret-name`);
}

{
  neg('env', `PWD=/home/dev/project\nOLDPWD=/home/dev\nSHELL=/bin/zsh\nTERM=xterm-256color`);
  neg('env', `TOKENIZERS_PARALLELISM=false\nHISTCONTROL=ignoredups\nLANG=en_US.UTF-8`);
  neg('env', `SSH_AUTH_SOCK=/tmp/ssh-XXXXabcd/agent.1234\nGPG_TTY=/dev/pts/0`);
  neg('env', `PASSWORD_STORE_DIR=/home/dev/.password-store`);
  neg('env', `NODE_OPTIONS=--max-old-space-size=4096\nNPM_CONFIG_PREFIX=/home/dev/.npm-global`);
  neg('env', `LS_COLORS=rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01`);
  neg('env', `PATH=/usr/local/bin:/usr/bin:/bin:/home/dev/.cargo/bin`);
  neg('env', `GOOGLE_APPLICATION_CREDENTIALS=/home/dev/.config/gcloud/application_default_credentials.json`);
  neg('env', `AWS_PROFILE=staging\nAWS_REGION=eu-west-1\nAWS_SDK_LOAD_CONFIG=1`);
  neg('env', `KUBECONFIG=~/.kube/config\nDOCKER_HOST=unix:///var/run/docker.sock`);
}

{
  neg('paths', `/home/dev/.ssh/id_rsa`);
  neg('paths', `src/auth/token.ts:42:17 - error TS2339: Property 'refresh' does not exist on type 'Token'.`);
  neg('paths', `C:\\Users\\dev\\AppData\\Roaming\\npm\\node_modules`);
  neg('paths', `Reading credentials from ~/.aws/credentials`);
  neg('paths', `modified:   src/components/PasswordField.tsx\nmodified:   src/lib/secrets/vault.ts`);
  neg('paths', `./node_modules/.bin/tsc -p tsconfig.build.json`);
  neg('paths', `ls -la /etc/ssl/private/`);
  neg('paths', `__tests__/api-key.test.ts`);
}

{
  neg('versions', `typescript@5.3.3 react@18.2.0 @types/node@20.11.5`);
  neg('versions', `"dependencies": { "@babel/core": "^7.22.5", "lodash": "~4.17.21", "vitest": "3.2.4" }`);
  neg('versions', `Node.js v20.11.1, npm 10.2.4, Python 3.12.1`);
  neg('versions', `Microsoft Windows [Version 10.0.19045.3803]`);
  neg('versions', `v2.0.0-beta.1+build.20240115`);
  neg('versions', `go version go1.21.6 linux/amd64`);
  neg('versions', `Chrome/120.0.6099.129 Safari/537.36`);
  neg('versions', `psql (PostgreSQL) 16.1 (Debian 16.1-1.pgdg120+1)`);
}

{
  neg('timestamps', `2025-01-15T10:30:00.000Z`);
  neg('timestamps', `[2025-01-15 10:30:00,123] INFO Starting worker pid=48213`);
  neg('timestamps', `Mon Jan 15 10:30:00 UTC 2025`);
  neg('timestamps', `"created_at": 1736937000, "updated_at": 1736937000123`);
  neg('timestamps', `15.01.2025 10:30`);
  neg('timestamps', `01/15/2025 10:30:45 PM`);
  neg('timestamps', `Duration: 00:01:23.45, start: 0.000000, bitrate: 1411 kb/s`);
  neg('timestamps', `took 1234 ms (p95 2345 ms, p99 3456 ms)`);
  neg('timestamps', `Elapsed: 2025-01-15 10:30:00 - 2025-01-15 11:45:12`);
  neg('timestamps', `cron: "0 3 * * 1-5"`);
}

{
  neg('network', `Server listening on http://localhost:3000`);
  neg('network', `tcp        0      0 0.0.0.0:5432            0.0.0.0:*               LISTEN`);
  neg('network', `Connecting to 192.168.1.10:6379...`);
  neg('network', `ports:\n  - "8080:80"\n  - "5432:5432"`);
  neg('network', `redis://localhost:6379/0`);
  neg('network', `mongodb://mongo:27017/app`);
  neg('network', `https://user@github.com/acme/repo.git`);
  neg('network', `ssh://git@gitlab.example.com:2222/group/project.git`);
  neg('network', `https://example.com:8443/path?page=2&sort=desc#section-3`);
  neg('network', `inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0`);
  neg('network', `fe80::1%lo0 and ::1 are loopback`);
  neg('network', `proxy_pass http://127.0.0.1:8000;`);
}

{
  neg('css', `.btn-primary { color: #1a2b3c; background: #ffffff; border: 1px solid #e5e7eb; }`);
  neg('css', `@media (max-width: 600px) { .sidebar { display: none; } }`);
  neg('css', `@import url("https://fonts.googleapis.com/css2?family=Inter:wght@400;600&display=swap");`);
  neg('css', `box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12), 0 1px 2px rgba(0, 0, 0, 0.24);`);
  neg('css', `<img src="logo@2x.png" srcset="logo@3x.png 3x">`);
}

{
  neg(
    'minified',
    `!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():"function"==typeof define&&define.amd?define(t):(e=e||self).Vue=t()}(this,function(){"use strict";var e=Object.freeze({});function t(e){return null==e}`,
  );
  neg('minified', `var a=function(b,c){return b.token=c.token||"",b.secret=!1,b};a.prototype.pass=function(){return this.tokens.length>0};`);
  neg('minified', `(function(){var n=document.querySelectorAll("[data-token]");for(var i=0;i<n.length;i++){n[i].setAttribute("aria-hidden","true")}})();`);
  neg('minified', `webpackJsonp([1],{"./src/api.js":function(e,t,n){"use strict";t.a=function(e){return fetch(e,{credentials:"include"})}}})`);
}

{
  neg('decorators', `@Component({ selector: 'app-login', templateUrl: './login.component.html' })\nexport class LoginComponent { @Input() password = ''; }`);
  neg('decorators', `@app.route("/login", methods=["POST"])\ndef login():`);
  neg('decorators', `@pytest.mark.parametrize("token", [None, ""])`);
  neg('decorators', `import { z } from "zod"; import type { Token } from "@acme/auth";`);
  neg('decorators', `"@scope/pkg@npm:1.2.3"`);
  neg('decorators', `user@localhost`);
  neg('decorators', `Processing users@2024.01 batch`);
}

{
  neg('numbers', `Order 4111111111111112 was refunded`); // fails Luhn
  neg('numbers', `id: 1234567890123456789`);
  neg('numbers', `File size: 1234567890 bytes`);
  neg('numbers', `twitter_id=1748293847562938475`);
  neg('numbers', `Processed 1,234,567 rows in 00:02:31`);
  neg('numbers', `ISBN 978-0-596-52068-7`);
  neg('numbers', `000-12-3456 666-12-3456 900-12-3456 123-00-4567`);
  neg('numbers', `Build 20250115.3 (commit ${f.hex(7)})`);
  neg('numbers', `Invoice INV-2025-000123 total 4,111.11 EUR`);
  neg('numbers', `at Object.<anonymous> (/app/src/index.js:123:45)\n    at Module._compile (node:internal/modules/cjs/loader:1376:14)`);
  neg('numbers', `Error in src/routes/users.ts(88,17): Type 'string' is not assignable`);
  neg('numbers', `tensor([[0.1234, 0.5678], [0.9012, 0.3456]])`);
  neg('numbers', `range 100-200-3000`);
  neg('numbers', `lat=52.520008 lon=13.404954`);
  neg('numbers', `"coords": [123.456789, -45.678901]`);
  neg('numbers', `  1  2  3  4  5  6  7  8  9 10 11 12`);
  neg('numbers', `PID   USER  %CPU %MEM    VSZ   RSS\n48213 dev    12.0  1.3 123456 78901`);
  neg('numbers', `DE89 3704 0044 0532 0130 01`); // bad IBAN checksum
  neg('numbers', `Matrix 5105 1051 0510 5101 is the seed`); // fails Luhn
  neg('numbers', `Serial: 4000-1234-5678-9010`); // fails Luhn
  neg('numbers', `tracking 1Z999AA10123456784`);
  neg('numbers', `phone extension 1234, room 567`);
  neg('numbers', `+12 -3 +45 (net +54)`);
}

{
  neg('prose', `The token expired, please log in again.`);
  neg('prose', `Tokens used: 12345 (input 10000, output 2345)`);
  neg('prose', `We use Bearer authentication for all API endpoints.`);
  neg('prose', `Basic usage: run the command with --help for options.`);
  neg('prose', `WWW-Authenticate: Bearer realm="api", error="invalid_token"`);
  neg('prose', `The password: must be at least 12 characters long.`);
  neg('prose', `Secrets are stored in AWS Secrets Manager and rotated every 30 days.`);
  neg('prose', `Make sure the API key is set before running the tests.`);
  neg('prose', `Password reset email sent. Check your inbox.`);
  neg('prose', `Note: the access token is short-lived; use the refresh token to obtain a new one.`);
  neg('prose', `token: used to authenticate requests against the registry`);
  neg('prose', `Enter password: `);
  neg('prose', `Authorization: required`);
  neg('prose', `I'll update the authorization middleware to check the bearer token first.`);
}

{
  neg('json', J({ type: 'assistant', message: { usage: { input_tokens: 1234, cache_creation_input_tokens: 5678, output_tokens: 910 } } }));
  neg('json', J({ token_type: 'Bearer', expires_in: 3600, scope: 'openid profile email' }));
  neg('json', J({ secretName: 'db-credentials', secretKeyRef: { name: 'api', key: 'password' } }));
  neg(
    'json',
    J({
      logprobs: {
        content: [
          { token: ' the', logprob: -0.01 },
          { token: ' answer', logprob: -0.2 },
        ],
      },
    }),
  );
  neg('json', J({ passwordPolicy: { minLength: 12, requireSymbols: true }, tokenLifetime: 3600 }));
  neg('json', J({ hasPassword: true, tokenCount: 42, secretsEnabled: false }));
  neg('json', J({ stop_reason: 'end_turn', stop_sequence: null, model: 'claude-sonnet-4-20250514' }));
  neg('json', J({ tool_use_id: `toolu_${f.alnum(24)}`, type: 'tool_result', is_error: false }));
  neg('json', J({ color: '#3b82f6', border: '#e5e7eb', id: `c_${f.hex(16)}` }));
  neg('json', J({ kid: f.hex(40), alg: 'RS256', use: 'sig' }));
}

{
  neg('yaml', `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque`);
  neg('yaml', `env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-credentials\n        key: password`);
  neg('yaml', `- name: Checkout\n  uses: actions/checkout@v4\n  with:\n    fetch-depth: 0`);
  neg('yaml', `volumes:\n  - name: secrets\n    secret:\n      secretName: app-secrets`);
  neg('yaml', `spring:\n  datasource:\n    url: jdbc:postgresql://localhost:5432/app\n    username: app`);
  neg('yaml', `image: node:20-alpine\nports:\n  - 3000:3000\nrestart: unless-stopped`);
}

{
  neg(
    'stack',
    `Traceback (most recent call last):\n  File "/app/auth.py", line 42, in verify_token\n    payload = jwt.decode(token, key, algorithms=["HS256"])\njwt.exceptions.ExpiredSignatureError: Signature has expired`,
  );
  neg('stack', `TypeError: Cannot read properties of undefined (reading 'token')\n    at refreshSession (/app/src/session.ts:88:23)`);
  neg('stack', `java.lang.IllegalStateException: password must not be null\n\tat com.acme.auth.UserService.create(UserService.java:57)`);
  neg(
    'stack',
    `panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2b3c]`,
  );
}

{
  neg('more', `Cookie: theme=dark; lang=en-US; tz=Europe%2FBerlin`);
  neg('more', `Set-Cookie: lang=en; Path=/; Max-Age=31536000`);
  neg('more', `git checkout -b fix/token-refresh-race`);
  neg('more', `auth: true,\nauthRequired: false,`);
  neg('more', `const auth = getAuth(app);`);
  neg('more', `auth: { user: process.env.SMTP_USER, pass: process.env.SMTP_PASS },`);
  neg('more', `"auth": { "type": "oauth2", "flows": {} }`);
  neg('more', `main.3f9a2c1e.js  142.3 kB  │ gzip: 45.1 kB`);
  neg('more', `resourceVersion: "123456789"\nuid: ${f.hex(8)}-${f.hex(4)}-${f.hex(4)}-${f.hex(4)}-${f.hex(12)}`);
  neg('more', `eyJhbGciOiJIUzI1NiJ9 is just the header`);
  neg('more', `CREATE TABLE users (id serial, password_hash text NOT NULL, created_at timestamptz);`);
  neg('more', `ALTER USER app PASSWORD NULL;`);
  neg('more', `machine github.com login octocat password \${GITHUB_TOKEN}`);
  neg('more', `requirepass ""`);
  neg('more', `00000000: 7f45 4c46 0201 0100 0000 0000 0000 0000  .ELF............`);
  neg('more', `<Buffer 01 02 03 04 05 06 07 08>`);
  neg('more', `mac 01-23-45-67-89-AB`);
  neg('more', `Decimal('+35236450.6')`);
  neg('more', `def unix_getpass(prompt='Password: ', stream=None):`);
  neg('more', `user_pass = '%s:%s' % (user, passwd)`);
  neg('more', `const wsToken = __WS_TOKEN__;`);
  neg('more', `lastSignificantToken = "?NonExpressionParenEnd";`);
  neg('more', `const pass = exists && (args.length > 0);`);
  neg('more', `password = dbpassword`);
  neg('more', `vitest: pass: "passed", fail: "failed"`);
  neg('more', `token=<github-token>`);
  neg('more', `connect(host=host, user=user, password=db_pass, port=port)`);
  neg('more', `const password = 'Password used to generate key';`);
  neg('more', `Sentry.init({ dsn: process.env.SENTRY_DSN, tracesSampleRate: 0.1 });`);
  neg('more', `The API returns {"token": "..."} on success.`);
  neg('more', `kubectl get secret db-credentials -o jsonpath='{.data.password}' | base64 -d`);
  neg('more', `export GITHUB_TOKEN=$(gh auth token)`);
  neg('more', `gh auth login --with-token < token.txt`);
  neg('more', `security find-generic-password -s "MyApp" -w`);
  neg('more', `openssl genrsa -out private.pem 2048\nopenssl rsa -in private.pem -pubout -out public.pem`);
  neg('more', `-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${f.b64(64)}\n-----END PUBLIC KEY-----`);
  neg('more', `-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE${f.b64(64)}\n-----END CERTIFICATE-----`);
  neg('more', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${f.b64(43)} dev@laptop`);
}

{
  // Held-out negatives (see the held-out positives above).
  for (const text of [
    `const res = await fetch('/api/login', { method: 'POST', body: JSON.stringify({ email, password }) });`,
    `if (!user || !(await bcrypt.compare(password, user.passwordHash))) return res.status(401).end();`,
    `router.post('/reset-password/:token', resetPassword);`,
    `ERROR: relation "api_tokens" does not exist at character 15`,
    `[INFO] Downloading https://repo.maven.apache.org/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.pom`,
    `Step 5/12 : RUN npm ci --only=production\n ---> Running in 3f9a2c1e8b7d`,
    `    at async Promise.all (index 0)\n    at async /app/node_modules/next/dist/server/base-server.js:1234:56`,
    `secrets.GITHUB_TOKEN is automatically provided by Actions`,
    `password_reset_token_expires_at TIMESTAMP WITH TIME ZONE`,
    `"scripts": { "build": "tsc -p .", "test": "vitest run", "lint": "eslint ." }`,
    `useEffect(() => { if (!token) router.push('/login'); }, [token]);`,
    'E0308: mismatched types: expected `&str`, found `String`',
    `Fetched 12.3 MB in 2s (6,150 kB/s)\nReading package lists... Done`,
    `x-ratelimit-remaining: 4999\nx-ratelimit-reset: 1736940000`,
    `{"id":"msg_01XyZ","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022"}`,
    `Successfully installed requests-2.31.0 urllib3-2.1.0 certifi-2023.11.17`,
    `-rw------- 1 dev dev 3381 Jan 15 10:30 /home/dev/.ssh/id_rsa`,
    `const hash = crypto.createHash('sha256').update(password).digest('hex');`,
    `Set the API_KEY environment variable (see .env.example)`,
    `token = tokens[i]`,
    `passwordless: true`,
    `assert response.json()["token_type"] == "bearer"`,
    `self.assertEqual(resp.status_code, 401)`,
    `apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3`,
    `git log --author="jane" --since=2024-01-01`,
    `Listening on 0.0.0.0:8080, pid 12345`,
    `matrix:\n  node: [18, 20, 22]\n  os: [ubuntu-latest, macos-latest]`,
    `Memory: 16384 MB, CPU: 8 cores, Disk: 512 GB`,
    `"dependencies": {"jsonwebtoken": "^9.0.2", "bcrypt": "^5.1.1"}`,
    `# Generate a secret with: openssl rand -hex 32`,
    `error: failed to push some refs to 'github.com:acme/app.git'`,
    `Request ID: 0f8fad5b-d9cb-469f-a165-70867728950e`,
    `sha1: 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12`,
    `background: linear-gradient(90deg, #ff7e5f 0%, #feb47b 100%);`,
    `const PASSWORD_MIN_LENGTH = 12;`,
    `auth_required = True`,
    `tokenExpiry: Date.now() + 3600 * 1000,`,
    `SECRET_KEY_FILE=/run/secrets/django_secret`,
    'print(f"Token: {token[:4]}...")',
    `ssh -i ~/.ssh/deploy_key deploy@203.0.113.10 'sudo systemctl restart app'`,
    // Found by scanning real code (node_modules, the Python standard library).
    `RegEnumKey = win32api.RegEnumKey`,
    `if passwd is None:`,
    `const PRIMARY_KEY = "user_id_created_at_idx";`,
    `monkey: true`,
    `The password is incorrect.`,
  ])
    neg('holdout', text);
}

export const CORPUS = { positives, negatives };
