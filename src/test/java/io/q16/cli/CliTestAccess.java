package io.q16.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line from tests in other packages; prints what it said when it fails. */
public final class CliTestAccess {
  private CliTestAccess() {}

  /** What a run said: exit code, stdout, stderr. */
  public record Run(int code, String out, String err) {}

  public static int q16(String... args) {
    return run(args).code();
  }

  /** Runs the command line, capturing what it prints. */
  public static Run run(String... args) {
    System.setProperty("q16.debug", "true");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Q16.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    if (code != 0) {
      System.err.println("q16 " + String.join(" ", args) + " -> " + code + "\n" + out + err);
    }
    return new Run(code, out.toString(), err.toString());
  }
}
