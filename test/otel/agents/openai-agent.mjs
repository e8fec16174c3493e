// A small agent as people write them: the `openai` client, instrumented by the OpenTelemetry
// project's @opentelemetry/instrumentation-openai, traces exported over OTLP/HTTP protobuf to
// whatever OTEL_EXPORTER_OTLP_* says (the test gives it `rbk otel env`). It asks the model, runs
// the tool the model calls (a span of its own, per the GenAI conventions), and asks again.
//
//   OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node openai-agent.mjs "run the tests"
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { trace, SpanStatusCode } from '@opentelemetry/api';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'openai-agent' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
// Loaded with require, after the instrumentation is registered: it patches modules as they load
// through require (an ESM import would need Node's loader hook, --import @opentelemetry/instrumentation/hook.mjs).
const OpenAI = createRequire(import.meta.url)('openai');

const client = new OpenAI({ apiKey: 'sk-offline', baseURL: process.env.OPENAI_BASE_URL });
const tracer = trace.getTracer('openai-agent');
const tools = [{ type: 'function', function: { name: 'run_tests', description: 'Run the test suite', parameters: { type: 'object', properties: {} } } }];

await tracer.startActiveSpan(
  'invoke_agent openai-agent',
  { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'openai-agent' } },
  async (agentSpan) => {
    const messages = [{ role: 'user', content: process.argv[2] ?? 'run the tests' }];
    for (let turn = 0; turn < 4; turn++) {
      const res = await client.chat.completions.create({ model: 'gpt-4.1-mini', messages, tools });
      const msg = res.choices[0].message;
      messages.push(msg);
      if (!msg.tool_calls?.length) break;
      for (const call of msg.tool_calls) {
        await tracer.startActiveSpan(
          `execute_tool ${call.function.name}`,
          { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': call.function.name, 'gen_ai.tool.call.id': call.id } },
          async (span) => {
            const failed = turn === 0;
            const output = failed ? 'FAIL: 1 of 12 tests failed' : 'ok: 12 tests passed';
            if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: output });
            span.end();
            messages.push({ role: 'tool', tool_call_id: call.id, content: output });
          },
        );
      }
    }
    agentSpan.end();
  },
);
await provider.shutdown();
