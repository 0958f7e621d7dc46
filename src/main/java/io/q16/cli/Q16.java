package io.q16.cli;

import io.q16.Q16Exception;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code q16} command line. Each subcommand parses its options, then hands a plain options
 * record to a job; errors a user can act on become one line and an exit code.
 *
 * <p>Exit codes: 0 success; 1 verification found a problem; 2 usage; 3 bad input; 4 output cannot
 * be written; 70 internal error.
 */
@Command(
    name = "q16",
    mixinStandardHelpOptions = true,
    versionProvider = Q16.Version.class,
    description = "Exact, streaming, distributed float32 -> int16 model quantization on Apache Spark.",
    subcommands = {InspectCommand.class, CalibrateCommand.class, QuantizeCommand.class, VerifyCommand.class,
      ExportCommand.class,
      GenerateCommand.class},
    footer = {
      "",
      "Spark options (--master, --conf k=v, --driver-memory, ...) go to jobs/q16 like spark-submit.",
      "Defaults for any option can be set in conf/q16.properties (key = option name, or",
      "<command>.<option name>); a --config FILE names another file; the command line wins.",
      "Exit codes: 0 ok, 1 verification failed, 2 usage, 3 bad input, 4 output error, 70 internal."
    })
public final class Q16 implements Runnable {
  static final int EXIT_INTERNAL = 70;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    // Spark's non-daemon threads must not keep a finished job's JVM alive.
    System.exit(code);
  }

  /** Runs the command line and returns the exit code (tests call this; main exits with it). */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Q16());
    cli.setOut(out);
    cli.setErr(err);
    try {
      cli.setDefaultValueProvider(ConfigDefaults.load(args));
    } catch (Q16Exception e) {
      err.println("q16: error: " + e.getMessage());
      return e.kind().exitCode();
    }
    cli.setParameterExceptionHandler(
        (ex, a) -> {
          err.println("q16: " + ex.getMessage());
          err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
          return Q16Exception.Kind.USAGE.exitCode();
        });
    cli.setExecutionExceptionHandler((ex, c, parsed) -> report(ex, err));
    return cli.execute(args);
  }

  /** Turns a failure into one line; a Q16Exception anywhere in the chain (Spark wraps task failures) wins. */
  static int report(Throwable ex, PrintWriter err) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof Q16Exception q) {
        err.println("q16: error: " + q.getMessage());
        return q.kind().exitCode();
      }
    }
    // A task's exception that Spark could not ship back intact survives only as text.
    String text = String.valueOf(ex.getMessage());
    String marker = Q16Exception.class.getName() + ": ";
    int at = text.indexOf(marker);
    if (at >= 0) {
      String rest = text.substring(at + marker.length());
      int nl = rest.indexOf('\n');
      err.println("q16: error: " + (nl < 0 ? rest : rest.substring(0, nl)));
      return Q16Exception.Kind.BAD_INPUT.exitCode();
    }
    err.println("q16: internal error: " + ex + (stackTraces() ? "" : " (set Q16_DEBUG=1 for the stack trace)"));
    if (stackTraces()) {
      ex.printStackTrace(err);
    }
    return EXIT_INTERNAL;
  }

  private static boolean stackTraces() {
    return System.getenv("Q16_DEBUG") != null || Boolean.getBoolean("q16.debug");
  }

  /** The version from the jar's build. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"q16 " + io.q16.spark.QuantizeJob.VERSION};
    }
  }
}
