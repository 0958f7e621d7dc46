package io.q16;

/**
 * An error a user can act on: the message is one line naming the file, the tensor and what was
 * expected versus found. The kind decides the exit code of the command line.
 */
public class Q16Exception extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, with the process exit code that reports it. */
  public enum Kind {
    /** Verification found a tensor outside its error bound. */
    VERIFY_FAILED(1),
    /** The command line or configuration is wrong. */
    USAGE(2),
    /** A model or data file is missing, malformed or refused by policy (NaN, unknown dtype...). */
    BAD_INPUT(3),
    /** The output location cannot be written or would overwrite something that is not ours. */
    OUTPUT(4);

    private final int exitCode;

    Kind(int exitCode) {
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  private final Kind kind;

  public Q16Exception(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public Q16Exception(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
