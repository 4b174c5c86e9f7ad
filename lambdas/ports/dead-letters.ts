/** Where a message that must not be retried goes, with the reason a person needs to act on it. */
export interface DeadLetters {
  send(body: string, reason: string, groupId: string): Promise<void>;
}
