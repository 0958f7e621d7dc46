package io.q16.cli;

import io.q16.Errors;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option defaults from a properties file, under the command line: {@code <command>.<option>} wins
 * over {@code <option>}, e.g. {@code quantize.chunk-mb = 32} or {@code nan = zero}.
 *
 * <p>The file is {@code --config FILE} if given, else {@code $Q16_CONF_DIR/q16.properties} (the
 * launcher points Q16_CONF_DIR at the project's conf/), else none. It is the driver's local file.
 */
final class ConfigDefaults implements CommandLine.IDefaultValueProvider {
  private final Properties props;

  private ConfigDefaults(Properties props) {
    this.props = props;
  }

  static ConfigDefaults load(String[] args) {
    String file = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        file = args[i + 1];
      } else if (args[i].startsWith("--config=")) {
        file = args[i].substring("--config=".length());
      }
    }
    boolean explicit = file != null;
    if (file == null && System.getenv("Q16_CONF_DIR") != null) {
      file = Path.of(System.getenv("Q16_CONF_DIR"), "q16.properties").toString();
    }
    Properties props = new Properties();
    if (file != null && (explicit || Files.exists(Path.of(file)))) {
      try (Reader r = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
        props.load(r);
      } catch (IOException e) {
        throw Errors.usage("cannot read config file " + file + ": " + e.getMessage());
      }
    }
    return new ConfigDefaults(props);
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option) || arg.command() == null) {
      return null;
    }
    String name = option.longestName().replaceFirst("^-+", "");
    String value = props.getProperty(arg.command().name() + "." + name);
    return value != null ? value.trim() : props.getProperty(name) == null ? null : props.getProperty(name).trim();
  }
}
