/** Every EMF line (a JSON object with `_aws`) a handler in this process wrote to stdout while `run` ran. */
async function emfLinesOf(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n')) {
      if (line.includes('"_aws"')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return write(chunk, ...(rest as []));
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

/** The metrics published while `run` ran, by name; a name published twice keeps the last value. */
export async function metricsOf(run: () => Promise<unknown>): Promise<Record<string, unknown>> {
  return Object.assign({}, ...(await emfLinesOf(run))) as Record<string, unknown>;
}

/** The numeric metrics published while `run` ran, by name, summed over every invocation's line. */
export async function summedMetricsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const summed: Record<string, number> = {};
  for (const line of await emfLinesOf(run)) {
    for (const [name, value] of Object.entries(line)) {
      if (typeof value === 'number') summed[name] = (summed[name] ?? 0) + value;
    }
  }
  return summed;
}
