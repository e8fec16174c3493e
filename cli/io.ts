export interface Io {
  out(text: string): void;
  err(text: string): void;
  json(value: unknown): void;
  isTTY: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  isTTY: Boolean(process.stdout.isTTY),
};
