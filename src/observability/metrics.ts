/**
 * Prometheus metrics, served at /metrics on the admin listener. Each Gatepass instance has a
 * registry of its own. Token outcomes are counted from domain events, so no handler holds
 * metrics code for them.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from '../services/events.js';

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'gatepass_http_requests_total',
    help: 'HTTP requests, by listener, route pattern, method and status',
    labelNames: ['listener', 'route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'gatepass_token_requests_total',
    help: 'Token API outcomes, by environment, grant type and outcome (issued, or the OAuth error code)',
    labelNames: ['environment', 'grant_type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly gatewayLatency = new Histogram({
    name: 'gatepass_gateway_request_duration_seconds',
    help: 'Time from receiving a gateway call to sending its response, by environment, module and status class',
    labelNames: ['environment', 'module', 'status_class'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'gatepass_upstream_errors_total',
    help: 'Gateway calls whose upstream failed, by environment, module and error code',
    labelNames: ['environment', 'module', 'code'] as const,
    registers: [this.registry],
  });

  constructor(sources: {
    requestLogDropped: () => number;
    auditDropped: () => number;
    passwordChecksAbandoned: () => number;
  }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatepass_' });
    new Gauge({
      name: 'gatepass_request_log_rows_dropped',
      help: 'Request-log rows dropped since start because the buffer was full while the database was away',
      registers: [this.registry],
      collect() {
        this.set(sources.requestLogDropped());
      },
    });
    new Gauge({
      name: 'gatepass_password_checks_abandoned',
      help: 'Password checks skipped since start because the client closed the connection while the check waited for the hasher',
      registers: [this.registry],
      collect() {
        this.set(sources.passwordChecksAbandoned());
      },
    });
    new Gauge({
      name: 'gatepass_audit_events_dropped',
      help: 'Audit events dropped since start because the buffer was full while the database was away',
      registers: [this.registry],
      collect() {
        this.set(sources.auditDropped());
      },
    });
  }

  listen(events: EventBus): void {
    events.on('token.issued', (event) =>
      this.tokens.inc({
        environment: event.environment,
        grant_type: event.grantType,
        outcome: 'issued',
      }),
    );
    events.on('grant.refused', (event) =>
      this.tokens.inc({
        environment: event.environment,
        grant_type: event.grantType,
        outcome: event.error,
      }),
    );
  }
}
