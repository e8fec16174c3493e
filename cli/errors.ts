export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3, notFound: 4 } as const;

/** An error whose message tells the person what to do next. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}
