/** The metrics (EMF lines on stdout) a handler in this process published while `run` ran, by name; a name published twice keeps the last value. */
export async function metricsOf(run: () => Promise<unknown>): Promise<Record<string, unknown>> {
  const published: Record<string, unknown> = {};
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n')) {
      if (line.includes('"_aws"')) Object.assign(published, JSON.parse(line) as Record<string, unknown>);
    }
    return write(chunk, ...(rest as []));
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return published;
}
