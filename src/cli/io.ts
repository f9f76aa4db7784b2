/** What a command reads from and writes to the outside world; tests pass their own. */
export interface CliIo {
  readonly cwd: string;
  /** The process's variables, read once here (nothing deeper reads `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdinIsTTY: boolean;
  /** Asks a yes/no question on the terminal. */
  readonly confirm: (question: string) => Promise<boolean>;
}
