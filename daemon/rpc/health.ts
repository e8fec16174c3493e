import type * as grpc from '@grpc/grpc-js';

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** grpc.health.v1.Health: "" is the whole daemon; the rbk.v1 services are listed by full name. */
export class HealthService {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<{ service: string; call: grpc.ServerWritableStream<{ service: string }, { status: Status }> }>();

  constructor(services: string[]) {
    for (const s of ['', ...services]) this.statuses.set(s, 'SERVING');
  }

  setAll(status: Status): void {
    for (const key of this.statuses.keys()) this.statuses.set(key, status);
    for (const w of this.watchers) w.call.write({ status: this.statuses.get(w.service) ?? 'SERVICE_UNKNOWN' });
  }

  handlers() {
    return {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: Status }>, cb: grpc.sendUnaryData<{ status: Status }>) => {
        const status = this.statuses.get(call.request.service);
        if (!status) {
          cb({ code: 5, details: `unknown service "${call.request.service}"` } as grpc.ServiceError);
          return;
        }
        cb(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: Status }>) => {
        const watcher = { service: call.request.service, call };
        this.watchers.add(watcher);
        call.write({ status: this.statuses.get(call.request.service) ?? 'SERVICE_UNKNOWN' });
        call.on('cancelled', () => this.watchers.delete(watcher));
      },
    };
  }

  endWatches(): void {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
  }
}
