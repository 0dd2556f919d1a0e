/**
 * Text returned by an agent or a tool. It behaves like a string (it is a `String` object: methods, `length`,
 * template literals, `+`, `JSON.stringify`), so code written for plain strings keeps working. Compare it with
 * `String(text) === "..."` or `text.toRaw()`: as with any object, `===` against a primitive is false.
 */
export class AgentText extends String {
  constructor(value: string) {
    super(value);
  }

  /** The plain string. */
  toRaw(): string {
    return this.valueOf();
  }

  /** Serialized as the plain string. */
  toJSON(): string {
    return this.valueOf();
  }
}
