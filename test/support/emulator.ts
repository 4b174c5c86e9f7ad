import { type EmulatorOptions, IscEmulator } from '../../local/emulator/server';

export const TEST_CLIENT = { clientId: 'test-client', clientSecret: 'test-secret-Do-Not-Print-7f3a9c' };

/** Starts an emulator with known credentials; stop it in afterAll/afterEach. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<{ emulator: IscEmulator; url: string }> {
  const emulator = new IscEmulator({ clients: [TEST_CLIENT], ...options });
  const url = await emulator.start();
  return { emulator, url };
}

/** A bearer token from the emulator, for raw HTTP tests. */
export async function tokenFor(url: string, credentials = TEST_CLIENT): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    }),
  });
  if (!response.ok) throw new Error(`token request failed: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
