// Deterministic fake secrets for the corpus and property tests. Every vendor prefix is assembled
// at runtime so this repository never contains a string that secret scanners (GitHub push
// protection, gitleaks) would flag as a real credential.

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const HEX = '0123456789abcdef';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;

const IBAN_LENGTHS: Record<string, number> = { DE: 22, GB: 22, FR: 27, NL: 18, ES: 24, IT: 27, BE: 16, CH: 21, AT: 20, PL: 28 };

function mod97(numeric: string): number {
  let r = 0;
  for (const d of numeric) r = (r * 10 + Number(d)) % 97;
  return r;
}

function lettersToDigits(s: string): string {
  return [...s].map((c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join('');
}

export class Fake {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** Random alphanumerics that are guaranteed to mix digits and both cases, like real tokens. */
  alnum(n: number): string {
    if (n < 3) return this.chars(ALNUM, n);
    const body = this.chars(ALNUM, n - 3) + this.chars(UPPER, 1) + this.chars(LOWER, 1) + this.chars(DIGITS, 1);
    return this.shuffle(body);
  }

  shuffle(s: string): string {
    const a = [...s];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.join('');
  }

  upperAlnum(n: number): string {
    return this.chars(UPPER + DIGITS, n);
  }
  hex(n: number): string {
    return this.chars(HEX, n);
  }
  digits(n: number): string {
    return this.chars(DIGITS, n);
  }
  b64(n: number): string {
    return this.shuffle(this.chars(B64, n - 2) + this.chars(DIGITS, 1) + this.chars(UPPER, 1));
  }
  b64url(n: number): string {
    return this.chars(B64URL, n);
  }

  awsKeyId(prefix: 'AKIA' | 'ASIA' = 'AKIA'): string {
    return `${['AK', 'AS'][prefix === 'AKIA' ? 0 : 1]}IA${this.upperAlnum(16)}`;
  }
  awsSecret(): string {
    return this.b64(40);
  }
  github(kind: 'p' | 'o' | 'u' | 's' | 'r' = 'p'): string {
    return `gh${kind}_${this.alnum(36)}`;
  }
  githubPat(): string {
    return `${['github', 'pat'].join('_')}_${this.alnum(22)}_${this.alnum(59)}`;
  }
  gitlab(): string {
    return `${['gl', 'pat'].join('')}-${this.alnum(20)}`;
  }
  slack(kind: 'b' | 'p' | 'a' = 'b'): string {
    return `xo${'x'}${kind}-${this.digits(12)}-${this.digits(13)}-${this.alnum(24)}`;
  }
  slackWebhookPath(): string {
    return `T${this.upperAlnum(8)}/B${this.upperAlnum(10)}/${this.alnum(24)}`;
  }
  stripe(mode: 'sk_live' | 'sk_test' | 'rk_live' = 'sk_live'): string {
    return `${mode}_${this.alnum(24)}`;
  }
  anthropic(): string {
    return `${['sk', 'ant', 'api03'].join('-')}-${this.chars(B64URL, 80)}${this.alnum(13)}AA`;
  }
  openai(project = false): string {
    return project ? `${['sk', 'proj'].join('-')}-${this.chars(B64URL, 60)}${this.alnum(20)}` : `sk-${this.alnum(48)}`;
  }
  google(): string {
    return `${['AI', 'za'].join('')}Sy${this.chars(B64URL, 30)}${this.alnum(3)}`;
  }
  npm(): string {
    return ['np', 'm_'].join('') + this.alnum(36);
  }
  huggingface(): string {
    return ['h', 'f_'].join('') + this.shuffle(`${this.chars(UPPER + LOWER, 32)}Ab`);
  }
  sendgrid(): string {
    return `${['S', 'G.'].join('') + this.b64url(20) + this.alnum(2)}.${this.b64url(40)}${this.alnum(3)}`;
  }
  jwt(): string {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = enc({ alg: 'HS256', typ: 'JWT' });
    const payload = enc({ sub: this.digits(8), name: `user${this.digits(3)}`, iat: 1700000000 + this.int(9999999) });
    return `${header}.${payload}.${this.b64url(43)}`;
  }
  pemBody(lines = 6): string {
    return Array.from({ length: lines }, () => this.b64(64)).join('\n');
  }
  pem(kind: 'RSA ' | 'EC ' | 'OPENSSH ' | '' | 'ENCRYPTED ' = 'RSA '): { block: string; body: string } {
    const body = this.pemBody();
    const label = `${kind}PRIVATE KEY`;
    return { block: `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`, body };
  }
  /** Luhn-valid card number for an issuer prefix. */
  card(prefix: string, length: number): string {
    let digits = prefix + this.digits(length - prefix.length - 1);
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 0) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    digits += String((10 - (sum % 10)) % 10);
    return digits;
  }
  iban(country: keyof typeof IBAN_LENGTHS & string = 'DE'): string {
    const length = IBAN_LENGTHS[country]!;
    const bban = this.digits(length - 4);
    const check = 98 - mod97(lettersToDigits(`${bban + country}00`));
    return country + String(check).padStart(2, '0') + bban;
  }
  ssn(): string {
    const area = String(1 + this.int(664)).padStart(3, '0');
    return `${area === '666' ? '667' : area}-${String(1 + this.int(98)).padStart(2, '0')}-${String(1 + this.int(9998)).padStart(4, '0')}`;
  }
  password(): string {
    return this.pick(['hunter2', 'S3cure!Pass', 'correcthorse9', 'Tr0ub4dor&3', 'p@ssw0rd-2024', 'Summer2023!', 'letmein42', 'qwerty!234']) + this.alnum(3);
  }
}

export function groupEvery(s: string, n: number, sep = ' '): string {
  return s.match(new RegExp(`.{1,${n}}`, 'g'))!.join(sep);
}
